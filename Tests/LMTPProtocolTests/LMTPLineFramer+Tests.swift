import AerieCore
import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("LMTPLineFramer")
struct LMTPLineFramerTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var input: String
        var events: [LMTPFramerEvent]
        var limit = LineFramer.lmtpCommandLineLength
        var testDescription: String { input.debugDescription }
    }

    static let fixtures: [Fixture] = [
        Fixture(input: "LHLO mx\r\n", events: [.line(bytes("LHLO mx"))]),
        Fixture(input: "LHLO mx\n", events: [.line(bytes("LHLO mx"))]),
        Fixture(
            input: "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
            events: [.line(bytes("MAIL FROM:<a@b>")), .line(bytes("RCPT TO:<c@d>")), .line(bytes("DATA"))]),
        Fixture(input: "NOOP", events: []),
        Fixture(input: "NO\rOP\r\n", events: [.line(bytes("NO\rOP"))]),
        Fixture(input: "0123456789\r\n", events: [.line(bytes("0123456789"))], limit: 10),
        Fixture(input: "01234567890\r\nQUIT\r\n", events: [.lineTooLong, .line(bytes("QUIT"))], limit: 10),
        Fixture(input: "0123456789abcdefghij", events: [.lineTooLong], limit: 10),
        Fixture(input: "0123456789\r\r\nQUIT\n", events: [.lineTooLong, .line(bytes("QUIT"))], limit: 10),
    ]

    private func frame(_ input: [UInt8], limit: Int, sizes: [Int]) -> [LMTPFramerEvent] {
        var framer = LMTPLineFramer(maxLineLength: limit)
        var events: [LMTPFramerEvent] = []
        for chunk in chunks(input, sizes: sizes) {
            framer.append(chunk)
            while let event = framer.next() { events.append(event) }
        }
        return events
    }

    @Test(arguments: fixtures)
    func wholeInput(_ fixture: Fixture) {
        let input = bytes(fixture.input)
        #expect(frame(input, limit: fixture.limit, sizes: [max(1, input.count)]) == fixture.events)
    }

    @Test(arguments: fixtures)
    func byteByByte(_ fixture: Fixture) {
        #expect(frame(bytes(fixture.input), limit: fixture.limit, sizes: [1]) == fixture.events)
    }

    @Test(arguments: fixtures)
    func seededRandomChunks(_ fixture: Fixture) {
        var rng = SplitMix64(seed: 0x1A7B)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...7, using: &rng) }
            #expect(frame(bytes(fixture.input), limit: fixture.limit, sizes: sizes) == fixture.events)
        }
    }

    @Test func defaultLimit() {
        let line = bytes("RCPT TO:<a@b>") + [UInt8](repeating: 0x20, count: 4096 - 13)
        #expect(frame(line + bytes("\r\n"), limit: LineFramer.lmtpCommandLineLength, sizes: [1]) == [.line(line)])
        #expect(frame(line + bytes("x\r\n"), limit: LineFramer.lmtpCommandLineLength, sizes: [1]) == [.lineTooLong])
    }

    @Test func handsDataOverToTheReaders() {
        var framer = LMTPLineFramer(maxLineLength: LineFramer.lmtpCommandLineLength)
        framer.append(bytes("BDAT 5 LAST\r\nhelloQUIT\r\n"))
        #expect(framer.next() == .line(bytes("BDAT 5 LAST")))
        var reader = BDATReader(maxMessageSize: 100)
        reader.beginChunk(size: 5)
        #expect(reader.feed(framer.takeBufferedBytes()) == [.data(bytes("hello")), .end])
        #expect(!framer.hasBufferedBytes)
        framer.append(reader.takeRemainder())
        #expect(framer.next() == .line(bytes("QUIT")))
    }

    @Test func starttlsInjectionDefence() {
        var framer = LMTPLineFramer(maxLineLength: LineFramer.lmtpCommandLineLength)
        framer.append(bytes("STARTTLS\r\nRCPT TO:<evil@x>\r\n"))
        #expect(framer.next() == .line(bytes("STARTTLS")))
        #expect(framer.hasBufferedBytes)
        framer.discardBuffered()
        #expect(!framer.hasBufferedBytes)
        #expect(framer.next() == nil)
    }

    @Test func skippedLineIsNotHandedOver() {
        var framer = LMTPLineFramer(maxLineLength: 4)
        framer.append(bytes("TOOLONG"))
        #expect(framer.next() == .lineTooLong)
        #expect(framer.hasBufferedBytes)
        #expect(framer.takeBufferedBytes() == [])
    }
}
