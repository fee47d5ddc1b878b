import AerieCore
@testable import POP3Protocol

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

/// Cuts `input` into chunks of the given sizes (cycled).
func chunks(_ input: [UInt8], sizes: [Int]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var offset = 0
    var turn = 0
    while offset < input.count {
        let end = min(input.count, offset + max(1, sizes[turn % sizes.count]))
        result.append(Array(input[offset..<end]))
        offset = end
        turn += 1
    }
    return result
}

/// Feeds `input` to a fresh framer in chunks and collects every event.
func frame(_ input: [UInt8], maxLineLength: Int = LineFramer.pop3CommandLineLength, chunkSizes: [Int]) -> [POP3FramerEvent] {
    var framer = POP3LineFramer(maxLineLength: maxLineLength)
    var events: [POP3FramerEvent] = []
    for chunk in chunks(input, sizes: chunkSizes) {
        framer.append(chunk)
        while let event = framer.next() { events.append(event) }
    }
    return events
}

/// The error text for `line`, or nil if it parsed.
func parseError(_ line: String) -> String? {
    do {
        _ = try POP3Command.parse(bytes(line))
        return nil
    } catch {
        return error.message
    }
}

/// Reference reader of a dot-stuffed multi-line body (RFC 1939 §3), for round trips: nil if unterminated.
func unstuff(_ wire: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    var lines = wire.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    guard lines.last == [] else { return nil }
    lines.removeLast()
    for line in lines {
        guard line.last == 0x0D else { return nil }
        var content = line.dropLast()
        if content.first == 0x2E {
            if content.count == 1 { return out }
            content = content.dropFirst()
        }
        out.append(contentsOf: content)
        out.append(contentsOf: [0x0D, 0x0A])
    }
    return nil
}
