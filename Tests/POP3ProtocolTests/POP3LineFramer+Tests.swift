import AerieCore
import AerieTestSupport
import Testing

@testable import POP3Protocol

@Suite("POP3LineFramer")
struct POP3LineFramerTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var input: String
        var events: [POP3FramerEvent]
        var limit = LineFramer.pop3CommandLineLength
        var testDescription: String { input.debugDescription }
    }

    static let fixtures: [Fixture] = [
        Fixture(input: "STAT\r\n", events: [.line(bytes("STAT"))]),
        Fixture(input: "STAT\n", events: [.line(bytes("STAT"))]),  // bare LF tolerated
        Fixture(input: "USER a\r\nPASS b c\r\n", events: [.line(bytes("USER a")), .line(bytes("PASS b c"))]),
        Fixture(input: "\r\n", events: [.line([])]),
        Fixture(input: "STAT", events: []),
        Fixture(input: "STAT\r", events: []),
        Fixture(input: "ST\rAT\r\n", events: [.line(bytes("ST\rAT"))]),  // lone CR stays for the parser
        Fixture(input: "0123456789\r\n", events: [.line(bytes("0123456789"))], limit: 10),
        Fixture(input: "01234567890\r\nNOOP\r\n", events: [.lineTooLong, .line(bytes("NOOP"))], limit: 10),
        Fixture(input: "01234567890", events: [.lineTooLong], limit: 10),
        Fixture(input: "0123456789\r\r\nNOOP\n", events: [.lineTooLong, .line(bytes("NOOP"))], limit: 10),
        Fixture(input: "0123456789012345678901234567890\nQUIT\r\n", events: [.lineTooLong, .line(bytes("QUIT"))], limit: 10),
    ]

    @Test(arguments: fixtures)
    func wholeInput(_ fixture: Fixture) {
        let input = bytes(fixture.input)
        #expect(frame(input, maxLineLength: fixture.limit, chunkSizes: [max(1, input.count)]) == fixture.events)
    }

    @Test(arguments: fixtures)
    func byteByByte(_ fixture: Fixture) {
        #expect(frame(bytes(fixture.input), maxLineLength: fixture.limit, chunkSizes: [1]) == fixture.events)
    }

    @Test(arguments: fixtures)
    func seededRandomChunks(_ fixture: Fixture) {
        var rng = SplitMix64(seed: 0x9093)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...7, using: &rng) }
            #expect(frame(bytes(fixture.input), maxLineLength: fixture.limit, chunkSizes: sizes) == fixture.events)
        }
    }

    @Test func defaultLimitIsRFC2449() {
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: 255)
        #expect(frame(line + [0x0D, 0x0A], chunkSizes: [1]) == [.line(line)])
        #expect(frame(line + [0x61, 0x0D, 0x0A], chunkSizes: [1]) == [.lineTooLong])
    }

    @Test func stlsInjectionDefence() {
        var framer = POP3LineFramer(maxLineLength: LineFramer.pop3CommandLineLength)
        framer.append(bytes("STLS\r\nUSER evil\r\n"))
        #expect(framer.next() == .line(bytes("STLS")))
        #expect(framer.hasBufferedBytes)
        framer.discardBuffered()
        #expect(!framer.hasBufferedBytes)
        #expect(framer.next() == nil)
        framer.append(bytes("CAPA\r\n"))
        #expect(framer.next() == .line(bytes("CAPA")))
        #expect(!framer.hasBufferedBytes)
    }

    @Test func partialLineCountsAsBuffered() {
        var framer = POP3LineFramer(maxLineLength: LineFramer.pop3CommandLineLength)
        framer.append(bytes("STLS\r\nUS"))
        _ = framer.next()
        #expect(framer.next() == nil)
        #expect(framer.hasBufferedBytes)
    }

    @Test func largeInputInManyChunks() {
        var input: [UInt8] = []
        for index in 0..<20_000 { input += bytes("RETR \(index + 1)\r\n") }
        let events = frame(input, chunkSizes: [4096, 1, 7, 13])
        #expect(events.count == 20_000)
        #expect(events.last == .line(bytes("RETR 20000")))
    }
}
