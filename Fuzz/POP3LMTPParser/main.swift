// libFuzzer entry point for the POP3 and LMTP framers, command parsers, DATA / BDAT readers,
// the dot-stuffer and the UIDL template expander.
// Build: swift build --product FuzzPOP3LMTPParser --sanitize=fuzzer
// Run:   SWIFT_BACKTRACE=enable=no ./.build/debug/FuzzPOP3LMTPParser -max_total_time=60
import LMTPProtocol
import POP3Protocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Split at a data-derived point: chunking must never change the results.
    let split = bytes.isEmpty ? 0 : Int(bytes[bytes.count - 1]) % (bytes.count + 1)
    fuzzPOP3(bytes, split: split)
    fuzzLMTP(bytes, split: split)
    fuzzDataReader(bytes, split: split)
    fuzzDotStuffer(bytes, split: split)
    fuzzBDAT(bytes, split: split)
    fuzzUIDL(bytes)
    return 0
}

private func isOneLine(_ reply: [UInt8]) -> Bool {
    reply.firstIndex(of: 0x0A) == reply.count - 1 && reply.dropLast().last == 0x0D && !reply.dropLast(2).contains(0x0D)
}

private func fuzzPOP3(_ bytes: [UInt8], split: Int) {
    func frame(_ parts: [[UInt8]]) -> [POP3FramerEvent] {
        var framer = POP3LineFramer(maxLineLength: 64)
        var events: [POP3FramerEvent] = []
        for part in parts {
            framer.append(part)
            while let event = framer.next() { events.append(event) }
        }
        return events
    }
    let events = frame([bytes])
    precondition(events == frame([Array(bytes[..<split]), Array(bytes[split...])]), "POP3: chunking changed the events")
    var lines = events.compactMap { event -> [UInt8]? in if case .line(let line) = event { line } else { nil } }
    lines.append(bytes)  // the parser must also survive lines the framer would never produce
    for line in lines {
        let logged = POP3Command.redactedDescription(of: line)
        precondition(!logged.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "POP3: log line holds a line break")
        do {
            let command = try POP3Command.parse(line)
            let description = command.redactedDescription
            precondition(!description.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "POP3: description holds a line break")
            if case .pass = command {
                precondition(description == "PASS <hidden>" && logged == "PASS <hidden>", "POP3: password leaked")
            }
            if case .auth(let mechanism?, _?) = command {
                precondition(description == "AUTH \(mechanism) <hidden>" && logged == "AUTH <hidden>", "POP3: SASL data leaked")
            }
            precondition(isOneLine(POP3Response.ok(description).bytes), "POP3: +OK is not one line")
        } catch {
            precondition(isOneLine(POP3Response.err(code: nil, error.message).bytes), "POP3: -ERR is not one line")
        }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    precondition(isOneLine(POP3Response.continuation(text).bytes), "POP3: continuation is not one line")
    let listing = POP3Response.multiline(first: text, lines: text.split(separator: "\n").map(String.init)).bytes
    precondition(listing.suffix(5) == [0x0D, 0x0A, 0x2E, 0x0D, 0x0A] || listing.count == 8, "POP3: listing not terminated")
}

private func fuzzLMTP(_ bytes: [UInt8], split: Int) {
    func frame(_ parts: [[UInt8]]) -> [LMTPFramerEvent] {
        var framer = LMTPLineFramer(maxLineLength: 300)
        var events: [LMTPFramerEvent] = []
        for part in parts {
            framer.append(part)
            while let event = framer.next() { events.append(event) }
        }
        return events
    }
    let events = frame([bytes])
    precondition(events == frame([Array(bytes[..<split]), Array(bytes[split...])]), "LMTP: chunking changed the events")
    var lines = events.compactMap { event -> [UInt8]? in if case .line(let line) = event { line } else { nil } }
    lines.append(bytes)
    for line in lines {
        do {
            switch try LMTPCommand.parse(line) {
            case .mailFrom(let address, let parameters), .rcptTo(let address, let parameters):
                precondition(address.utf8.count <= 254, "LMTP: path over the bound")
                _ = LMTPMailParameters(parameters)
                let parts = RecipientAddress.split(address, delimiters: "+-")
                _ = parts.detail
            case .bdat(let size, _):
                precondition(size >= 0)
            default:
                break
            }
        } catch {
            precondition(isOneLine(error.reply.bytes), "LMTP: error reply is not one line")
        }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let reply = LMTPReply(code: 250, enhanced: "2.0.0", text: text.split(separator: "\n").map(String.init)).bytes
    precondition(reply.last == 0x0A)
    _ = LMTPCapabilities(hostname: text, maxMessageSize: bytes.count).reply.bytes
}

private struct DataResult: Equatable {
    var stored: [UInt8] = []
    var tooLarge = false
    var ended = false
    var remainder: [UInt8] = []
}

private func readData(_ parts: [[UInt8]], limit: Int) -> DataResult {
    var reader = DataReader(maxMessageSize: limit)
    var result = DataResult()
    for part in parts {
        for event in reader.feed(part) {
            switch event {
            case .data(let chunk):
                precondition(!result.tooLarge && !result.ended, "DATA: data after tooLarge or end")
                result.stored += chunk
            case .tooLarge:
                precondition(!result.tooLarge, "DATA: tooLarge twice")
                result.tooLarge = true
            case .end:
                precondition(!result.ended, "DATA: end twice")
                result.ended = true
            }
        }
    }
    precondition(result.stored.count <= limit, "DATA: stored past the limit")
    result.remainder = reader.takeRemainder()
    if result.tooLarge { result.stored = [] }
    return result
}

private func fuzzDataReader(_ bytes: [UInt8], split: Int) {
    let whole = readData([bytes], limit: 128)
    let chunked = readData([Array(bytes[..<split]), Array(bytes[split...])], limit: 128)
    precondition(whole == chunked, "DATA: chunking changed the result")
}

/// The CRLF-normalised message RETR promises (see DotStuffer).
private func normalised(_ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var index = 0
    while index < message.count {
        let byte = message[index]
        if byte == 0x0D, index + 1 < message.count, message[index + 1] == 0x0A {
            out += [0x0D, 0x0A]
            index += 2
            continue
        }
        out += byte == 0x0A || (byte == 0x0D && index + 1 == message.count) ? [0x0D, 0x0A] : [byte]
        index += 1
    }
    if !out.isEmpty, out.suffix(2) != [0x0D, 0x0A] { out += [0x0D, 0x0A] }
    return out
}

private func fuzzDotStuffer(_ bytes: [UInt8], split: Int) {
    let bodyLines: Int? = bytes.first.map { $0 < 0x80 ? nil : Int($0 & 0x07) } ?? nil
    let wire = DotStuffer.stuff(bytes, bodyLines: bodyLines)
    var stuffer = DotStuffer(bodyLines: bodyLines)
    var chunked = stuffer.feed(bytes[..<split])
    chunked += stuffer.feed(bytes[split...])
    chunked += stuffer.finish()
    precondition(wire == chunked, "stuffer: chunking changed the output")
    // Stuff then unstuff: the DATA reader reads the RETR form back to the CRLF-normalised message.
    let back = readData([wire], limit: Int.max)
    precondition(back.ended && back.remainder.isEmpty, "stuffer: terminator not where expected")
    if bodyLines == nil {
        precondition(back.stored == normalised(bytes), "stuffer: round trip changed the message")
    } else {
        precondition(normalised(bytes).starts(with: back.stored), "stuffer: TOP is not a prefix of the message")
    }
}

private func fuzzBDAT(_ bytes: [UInt8], split: Int) {
    let size = bytes.first.map { Int($0) } ?? 0
    var reader = BDATReader(maxMessageSize: 200)
    reader.beginChunk(size: size)
    var stored: [UInt8] = []
    var ended = false
    for part in [bytes[..<split], bytes[split...]] {
        for event in reader.feed(part) {
            switch event {
            case .data(let chunk): stored += chunk
            case .tooLarge: precondition(size > 200, "BDAT: tooLarge within the limit")
            case .end: ended = true
            }
        }
    }
    if size > 200 { return }
    precondition(ended == (bytes.count >= size), "BDAT: end at the wrong place")
    precondition(stored == Array(bytes.prefix(size)), "BDAT: stored bytes differ")
    precondition(reader.takeRemainder() == Array(bytes.dropFirst(size)), "BDAT: remainder differs")
}

private func fuzzUIDL(_ bytes: [UInt8]) {
    let template = String(decoding: bytes.prefix(256), as: UTF8.self)
    _ = try? POP3UIDL.validateTemplate(template)
    let uidl = POP3UIDL.format(template, uidValidity: 1_700_000_000, uid: 5, guid: "g", md5: "m", fileName: "f")
    precondition(uidl.utf8.count <= 256 * 256, "UIDL: output unbounded")
    _ = POP3UIDL.isValid(uidl)
}
