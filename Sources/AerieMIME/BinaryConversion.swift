extension ParsedMessage {
    /// RFC 3516 §4.3 (APPEND of a binary literal): a part in Content-Transfer-Encoding binary cannot be sent to a
    /// client that fetches BODY[] (RFC 9051 §4.3: no NULs outside literal8), so, as Dovecot's binary converter does,
    /// each such leaf part of `raw` is stored base64-encoded (RFC 2045 §6.8) under
    /// `Content-Transfer-Encoding: base64`; BINARY[] still returns its octets, bare LFs included. Everything else
    /// stays as sent. Nil when no part is in binary (the message is stored as sent).
    public static func binaryPartsInBase64(_ raw: [UInt8], limits: MIMELimits = .init()) -> [UInt8]? {
        let parsed = ParsedMessage(bytes: raw, limits: limits)
        let b = parsed.crlfBytes
        var converted: [(field: HeaderField, part: MIMEPart)] = []
        for part in parsed.parts where part.kind == .leaf && !part.declaredMultipart {
            guard part.isMIME, let field = part.fields.first(where: { isTransferEncodingField($0, in: b) }) else {
                continue
            }
            guard PartData(part: part, in: b).encoding.map({ ASCII.equalsIgnoringCase($0, "binary") }) == true
            else { continue }
            converted.append((field, part))
        }
        guard !converted.isEmpty else { return nil }
        // The parse ran on CRLF-normalized bytes: map its offsets back to `raw` by the CRs normalizing added.
        var addedCRs: [Int] = []
        var position = 0
        var previous: UInt8 = 0
        for byte in raw {
            if byte == ASCII.lf && previous != ASCII.cr {
                addedCRs.append(position)
                position += 1
            }
            position += 1
            previous = byte
        }
        func rawOffset(_ offset: Int) -> Int {
            var low = 0, high = addedCRs.count
            while low < high {
                let middle = (low + high) / 2
                if addedCRs[middle] < offset { low = middle + 1 } else { high = middle }
            }
            return offset - low
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count * 4 / 3 + 64)
        var copied = 0
        for (field, part) in converted.sorted(by: { $0.part.bodyStart < $1.part.bodyStart }) {
            // Leaves never overlap; a malformed tree that seemed to would keep the part as sent.
            guard copied <= rawOffset(field.start), field.end <= part.bodyStart, part.bodyStart <= part.bodyEnd else {
                continue
            }
            out += raw[copied..<rawOffset(field.start)]
            out += Array("Content-Transfer-Encoding: base64\r\n".utf8)
            out += raw[rawOffset(field.end)..<rawOffset(part.bodyStart)]
            appendBase64(raw[rawOffset(part.bodyStart)..<rawOffset(part.bodyEnd)], to: &out)
            copied = rawOffset(part.bodyEnd)
        }
        out += raw[copied...]
        return out
    }

    static func isTransferEncodingField(_ field: HeaderField, in b: [UInt8]) -> Bool {
        field.colon != nil && ASCII.equalsIgnoringCase(field.name(in: b), "Content-Transfer-Encoding")
    }

    /// RFC 2045 §6.8: lines of at most 76 characters, CRLF between them (the part's own end follows the last).
    static func appendBase64(_ data: ArraySlice<UInt8>, to out: inout [UInt8]) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var index = data.startIndex
        var lineLength = 0
        while index < data.endIndex {
            if lineLength == 76 {
                out += [ASCII.cr, ASCII.lf]
                lineLength = 0
            }
            let count = min(3, data.endIndex - index)
            let b0 = UInt32(data[index])
            let b1 = count > 1 ? UInt32(data[index + 1]) : 0
            let b2 = count > 2 ? UInt32(data[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 0x3F)])
            out.append(alphabet[Int(group >> 12 & 0x3F)])
            out.append(count > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(count > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            lineLength += 4
            index += count
        }
    }
}
