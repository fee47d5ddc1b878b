import AerieTestSupport
import Testing

@testable import IMAPProtocol

/// Literals over `spoolThreshold` leave the framer in chunks (APPEND streams them to disk, RFC 9051 §6.3.12) and the
/// unit keeps an empty literal in their place.
@Suite struct LiteralSpoolingTests {
    static let limits = IMAPFramingLimits(
        maxLiteralSize: 1 << 20, maxCommandSize: 1 << 21, maxLiteralsPerCommand: 8, spoolThreshold: 100)

    /// The events with every spoolData joined, so any chunking of the same bytes compares equal.
    static func joined(_ events: [FramerEvent]) -> [FramerEvent] {
        var out: [FramerEvent] = []
        for event in events {
            if case .spoolData(let more) = event, case .spoolData(let sofar)? = out.last {
                out[out.count - 1] = .spoolData(sofar + more)
            } else {
                out.append(event)
            }
        }
        return out
    }

    @Test func bigLiteralIsHandedOutAndReplacedByAnEmptyOne() throws {
        let message = [UInt8](repeating: 0x41, count: 300)
        let input = bytes("a APPEND {5}\r\nINBOX (\\Seen) {300}\r\n") + message + bytes(" {3}\r\nxyz\r\n")
        let head = bytes("a APPEND {5}\r\nINBOX (\\Seen) {0}\r\n")
        let expected: [FramerEvent] = [
            .needsContinuation, .needsContinuation, .spoolStart(offset: head.count, size: 300), .spoolData(message),
            .needsContinuation, .unit(head + bytes(" {3}\r\nxyz")),
        ]
        #expect(Self.joined(frameWhole(input, limits: Self.limits)) == expected)
        #expect(Self.joined(frame(input, limits: Self.limits, chunkSizes: [1])) == expected)
        var random = SplitMix64(seed: 7)
        for _ in 0..<50 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...64, using: &random) }
            #expect(Self.joined(frame(input, limits: Self.limits, chunkSizes: sizes)) == expected)
        }
        // The parser finds the spooled message by the offset the framer reported.
        guard case .unit(let unit) = expected.last,
            case .append(_, let messages) = try IMAPCommandParser.parse(unit).kind
        else {
            Issue.record("expected an APPEND")
            return
        }
        #expect(messages.map(\.literalOffset) == [head.count, unit.count - 3])
        #expect(messages[0].data.isEmpty && messages[1].data == bytes("xyz"))
    }

    @Test func nonSynchronizingAndBinaryLiteralsSpoolToo() {
        let data = [UInt8](repeating: 0, count: 150)
        let input = bytes("b APPEND INBOX ~{150+}\r\n") + data + bytes("\r\n")
        let head = bytes("b APPEND INBOX ~{0}\r\n")
        #expect(
            Self.joined(frame(input, limits: Self.limits, chunkSizes: [13]))
                == [.spoolStart(offset: head.count, size: 150), .spoolData(data), .unit(head)])
    }

    @Test func smallLiteralsStayInTheUnit() {
        let input = bytes("c APPEND INBOX {100}\r\n") + [UInt8](repeating: 0x42, count: 100) + bytes("\r\n")
        #expect(frameWhole(input, limits: Self.limits).last == .unit(Array(input.dropLast(2))))
    }

    @Test func spooledBytesCountAgainstTheCommandSize() {
        let limits = IMAPFramingLimits(
            maxLiteralSize: 1000, maxCommandSize: 1500, maxLiteralsPerCommand: 8, spoolThreshold: 100)
        let input = bytes("d APPEND INBOX {1000+}\r\n") + [UInt8](repeating: 0x43, count: 1000) + bytes(" {1000}\r\n")
        let events = frameWhole(input, limits: limits)
        #expect(events.last == .literalTooLarge(tag: "d", size: 1000, synchronizing: true))
    }

    /// Only APPEND reads spooled data: a big literal in any other command (`SEARCH TEXT {300000}`) is refused before it
    /// is sent, not searched as an empty string.
    @Test func otherCommandsRefuseLiteralsTheyCannotHold() {
        let search = bytes("e UID SEARCH TEXT {300}\r\ne NOOP\r\n")
        #expect(frameWhole(search, limits: Self.limits) == [
            .literalTooLarge(tag: "e", size: 300, synchronizing: true), .unit(bytes("e NOOP")),
        ])
        let nonSynchronizing = bytes("f SEARCH TEXT {300+}\r\n") + [UInt8](repeating: 0x44, count: 300) + bytes("\r\n")
        #expect(frameWhole(nonSynchronizing, limits: Self.limits) == [
            .literalTooLarge(tag: "f", size: 300, synchronizing: false)
        ])
        // A name like APPENDX is not APPEND; lower case append is.
        #expect(frameWhole(bytes("g APPENDX {300}\r\n"), limits: Self.limits).first?.isTooLarge == true)
        #expect(frameWhole(bytes("h append INBOX {300}\r\n"), limits: Self.limits).first == .needsContinuation)
        #expect(IMAPCommandFramer.isAppend(bytes("i Append x")[...]))
        #expect(!IMAPCommandFramer.isAppend(bytes("APPEND x")[...]))
    }
}

extension FramerEvent {
    fileprivate var isTooLarge: Bool {
        if case .literalTooLarge = self { return true }
        return false
    }
}
