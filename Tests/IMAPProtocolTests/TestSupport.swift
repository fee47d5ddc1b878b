import AerieTestSupport

@testable import IMAPProtocol

/// Feeds `input` to a fresh framer in the given chunk sizes (cycled) and collects every event.
func frame(_ input: [UInt8], limits: IMAPFramingLimits = .preLogin, chunkSizes: [Int]) -> [FramerEvent] {
    var framer = IMAPCommandFramer(limits: limits)
    var events: [FramerEvent] = []
    for chunk in chunks(input, sizes: chunkSizes) {
        framer.append(chunk)
        while let event = framer.next() { events.append(event) }
    }
    while let event = framer.next() { events.append(event) }
    return events
}

/// Feeds `input` whole.
func frameWhole(_ input: [UInt8], limits: IMAPFramingLimits = .preLogin) -> [FramerEvent] {
    frame(input, limits: limits, chunkSizes: [max(1, input.count)])
}

/// Parses a command written as text (without the final CRLF).
func parse(_ text: String) throws(IMAPParseError) -> IMAPCommand {
    try IMAPCommandParser.parse(bytes(text))
}

/// The error for `text`, or nil if it parsed.
func parseError(_ text: String) -> IMAPParseError? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error
    }
}

func tag(_ raw: String) -> IMAPTag { IMAPTag(raw)! }
