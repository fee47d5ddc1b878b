/// A plausible message of exactly `size` bytes (CRLF line endings, no line starting with a dot).
func makeMessage(size: Int, serial: Int, to: String = "test@example.org") -> [UInt8] {
    let subjects = [
        "Quarterly report draft", "Re: lunch on Friday?", "Build failed on main", "Invoice 2024-0193",
        "Meeting notes: storage review", "Fwd: conference travel", "Your order has shipped", "Weekly digest",
    ]
    var header = ""
    header += "Return-Path: <bench@example.com>\r\n"
    header += "From: Bench Sender <bench@example.com>\r\n"
    header += "To: <\(to)>\r\n"
    header += "Subject: \(subjects[serial % subjects.count]) #\(serial)\r\n"
    header += "Date: Mon, 24 Nov 2025 10:00:00 +0000\r\n"
    header += "Message-ID: <bench.\(serial).\(size)@example.com>\r\n"
    header += "MIME-Version: 1.0\r\n"
    header += "Content-Type: text/plain; charset=utf-8\r\n"
    header += "Content-Transfer-Encoding: 8bit\r\n"
    header += "\r\n"
    var bytes = Array(header.utf8)
    let words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"]
    var line = ""
    var w = serial
    while bytes.count < size {
        let word = words[w % words.count]
        w = (w &* 1_103_515_245 &+ 12345) & 0x7fff_ffff
        if line.count + word.count + 1 > 70 {
            bytes += Array((line + "\r\n").utf8)
            line = ""
        }
        line += line.isEmpty ? word : " " + word
    }
    if bytes.count > size - 2 { bytes.removeLast(bytes.count - (size - 2)) }
    // End cleanly on CRLF, without a lone CR before it.
    while bytes.last == 0x0D { bytes.removeLast() }
    while bytes.count < size - 2 { bytes.append(UInt8(ascii: "x")) }
    bytes += [0x0D, 0x0A]
    return bytes
}
