import AerieCore
import AerieTestSupport
@testable import POP3Protocol

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
