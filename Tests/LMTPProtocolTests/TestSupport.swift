import AerieTestSupport
import Testing

@testable import LMTPProtocol

/// What a DATA read produced: stored bytes, whether it overflowed, whether it ended, and the remainder.
struct DataOutcome: Equatable {
    var stored: [UInt8] = []
    var tooLarge = false
    var ended = false
    var remainder: [UInt8] = []
}

func readData(_ input: [UInt8], limit: Int = 1 << 20, sizes: [Int]) -> DataOutcome {
    var reader = DataReader(maxMessageSize: limit)
    var outcome = DataOutcome()
    for chunk in chunks(input, sizes: sizes) {
        for event in reader.feed(chunk) {
            switch event {
            case .data(let bytes):
                #expect(!outcome.tooLarge && !outcome.ended)
                outcome.stored += bytes
            case .tooLarge:
                #expect(!outcome.tooLarge)
                outcome.tooLarge = true
            case .end:
                #expect(!outcome.ended)
                outcome.ended = true
            }
        }
    }
    outcome.remainder = reader.takeRemainder()
    if outcome.tooLarge { outcome.stored = [] }  // the session discards it
    return outcome
}

/// Reference SMTP dot-stuffing (RFC 5321 §4.5.2) for round trips: CRLF line ends, leading "." doubled,
/// final line terminated, then ".\r\n".
func stuff(_ message: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var lines = message.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    if lines.last == [] { lines.removeLast() }
    for var line in lines {
        if line.last == 0x0D { line.removeLast() }
        if line.first == 0x2E { out.append(0x2E) }
        out += line + [0x0D, 0x0A]
    }
    return out + [0x2E, 0x0D, 0x0A]
}

/// `message` with LF / CRLF line ends as CRLF and the last line terminated.
func normalised(_ message: [UInt8]) -> [UInt8] {
    var lines = message.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
    if lines.last == [] { lines.removeLast() }
    return lines.flatMap { line in (line.last == 0x0D ? Array(line.dropLast()) : line) + [0x0D, 0x0A] }
}

/// The error for `line`, or nil if it parsed.
func parseError(_ line: String) -> LMTPParseError? {
    do {
        _ = try LMTPCommand.parse(bytes(line))
        return nil
    } catch {
        return error
    }
}
