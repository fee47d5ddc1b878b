// libFuzzer entry point for the IMAP framer and command parser, FETCH / SEARCH arguments included.
// Build: swift build --product FuzzIMAPParser --sanitize=fuzzer
// Seeds: mkdir corpus && FUZZ_WRITE_SEEDS=corpus ./.build/debug/FuzzIMAPParser
// Run:   SWIFT_BACKTRACE=enable=no ./.build/debug/FuzzIMAPParser -max_total_time=60 corpus
import IMAPProtocol

/// Small limits so the fuzzer reaches every bound quickly.
let fuzzLimits = IMAPFramingLimits(maxLineLength: 256, maxLiteralSize: 300, maxCommandSize: 1024, maxLiteralsPerCommand: 4)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Split at a data-derived point: chunking must never change the events.
    let split = bytes.isEmpty ? 0 : Int(bytes[bytes.count - 1]) % (bytes.count + 1)

    var chunked = IMAPCommandFramer(limits: fuzzLimits)
    var events: [FramerEvent] = []
    chunked.append(Array(bytes[..<split]))
    drain(&chunked, into: &events)
    chunked.append(Array(bytes[split...]))
    drain(&chunked, into: &events)

    var whole = IMAPCommandFramer(limits: fuzzLimits)
    var wholeEvents: [FramerEvent] = []
    whole.append(bytes)
    drain(&whole, into: &wholeEvents)
    precondition(events == wholeEvents, "chunking changed the framing events")

    for case .unit(let unit) in events {
        exercise(unit)
    }
    // The parser must also survive units the framer would never produce.
    exercise(bytes)
    // Argument parsing head-on: the first byte picks a command, the rest are its arguments.
    if let selector = bytes.first {
        exercise(Array(argumentPrefixes[Int(selector) % argumentPrefixes.count].utf8) + bytes.dropFirst())
    }
    return 0
}

private func drain(_ framer: inout IMAPCommandFramer, into events: inout [FramerEvent]) {
    while let event = framer.next() {
        events.append(event)
    }
}

private func exercise(_ unit: [UInt8]) {
    _ = SASLResponseLine.parse(unit)
    let logged = IMAPCommandParser.redactedDescription(of: unit)
    precondition(!logged.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }), "description holds a line break")
    do {
        let command = try IMAPCommandParser.parse(unit)
        if case .login(let user, let password) = command.kind {
            // The password is LOGIN's last argument, so the description must end with it hidden.
            let logged = command.redactedDescription
            precondition(logged.hasSuffix("<hidden>") || logged.hasSuffix("..."), "password not hidden")
            let visible = (command.tag.rawValue + " LOGIN " + user).uppercased()
            if password.utf8.count >= 4, !visible.contains(password.uppercased()) {
                precondition(!logged.contains(password), "password leaked into description")
            }
        }
        inspect(command.kind)
        let reply = IMAPResponse.tagged(command.tag, .ok, nil, command.redactedDescription).bytes
        precondition(reply.firstIndex(of: 0x0A) == reply.count - 1, "reply holds a line break")
    } catch {
        let reply = IMAPResponse.untaggedStatus(.bad, .parse, error.message).bytes
        precondition(reply.firstIndex(of: 0x0A) == reply.count - 1, "reply holds a line break")
    }
    let text = String(decoding: unit, as: UTF8.self)
    let untagged = IMAPResponse.untagged("ID (\"name\" \(IMAPString.nstring(text)))").bytes
    precondition(untagged.last == 0x0A)
}
