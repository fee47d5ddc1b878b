@testable import IMAPProtocol

/// The UTF-8 bytes of `text`; fixtures are written as Swift strings with `\r\n` spelt out.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A deterministic generator so "random" chunkings are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Feeds `input` to a fresh framer in the given chunk sizes (cycled) and collects every event.
func frame(_ input: [UInt8], limits: IMAPFramingLimits = .preLogin, chunkSizes: [Int]) -> [FramerEvent] {
    var framer = IMAPCommandFramer(limits: limits)
    var events: [FramerEvent] = []
    var offset = 0
    var turn = 0
    while offset < input.count {
        let size = max(1, chunkSizes[turn % chunkSizes.count])
        turn += 1
        let end = min(input.count, offset + size)
        framer.append(Array(input[offset..<end]))
        offset = end
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
