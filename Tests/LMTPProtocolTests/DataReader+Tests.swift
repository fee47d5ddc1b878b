import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("DataReader")
struct DataReaderTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var input: String
        var stored: String
        var ended = true
        var remainder = ""
        var testDescription: String { input.debugDescription }
    }

    static let fixtures: [Fixture] = [
        Fixture(input: ".\r\n", stored: ""),
        Fixture(input: "a\r\n.\r\n", stored: "a\r\n"),
        Fixture(input: "a\r\nb\r\n.\r\nQUIT\r\n", stored: "a\r\nb\r\n", remainder: "QUIT\r\n"),
        Fixture(input: "..\r\n.\r\n", stored: ".\r\n"),
        Fixture(input: "...\r\n.\r\n", stored: "..\r\n"),
        Fixture(input: "..x\r\n.\r\n", stored: ".x\r\n"),
        Fixture(input: ".x\r\n.\r\n", stored: "x\r\n"),  // a lone leading dot is dropped (RFC 5321 §4.5.2)
        Fixture(input: "a.\r\n.b\r\n.\r\n", stored: "a.\r\nb\r\n"),
        Fixture(input: "a\n.\n", stored: "a\r\n"),  // bare LF tolerated and normalised
        Fixture(input: "a\n..\nb\r\n.\r\n", stored: "a\r\n.\r\nb\r\n"),
        Fixture(input: "a\rb\r\n.\r\n", stored: "a\rb\r\n"),  // lone CR kept
        Fixture(input: ".\rx\r\n.\r\n", stored: "\rx\r\n"),
        Fixture(input: "\r\n\r\n.\r\n", stored: "\r\n\r\n"),
        Fixture(input: "a\r\n.", stored: "a\r\n", ended: false),
        Fixture(input: "a\r\n.\r", stored: "a\r\n", ended: false),
        Fixture(input: "a\r\n. \r\n.\r\n", stored: "a\r\n \r\n"),
        Fixture(input: "a\r\n.\r\n.\r\n", stored: "a\r\n", remainder: ".\r\n"),
    ]

    @Test(arguments: fixtures)
    func wholeInput(_ fixture: Fixture) {
        let input = bytes(fixture.input)
        let outcome = readData(input, sizes: [max(1, input.count)])
        #expect(outcome == DataOutcome(stored: bytes(fixture.stored), ended: fixture.ended, remainder: bytes(fixture.remainder)))
    }

    @Test(arguments: fixtures)
    func byteByByte(_ fixture: Fixture) {
        let outcome = readData(bytes(fixture.input), sizes: [1])
        #expect(outcome == DataOutcome(stored: bytes(fixture.stored), ended: fixture.ended, remainder: bytes(fixture.remainder)))
    }

    @Test(arguments: fixtures)
    func seededRandomChunks(_ fixture: Fixture) {
        var rng = SplitMix64(seed: 0xDA7A)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...5, using: &rng) }
            let outcome = readData(bytes(fixture.input), sizes: sizes)
            #expect(outcome == DataOutcome(stored: bytes(fixture.stored), ended: fixture.ended, remainder: bytes(fixture.remainder)))
        }
    }

    @Test func sizeLimit() {
        let body = bytes("0123456789\r\n0123456789\r\n")  // 24 octets
        for sizes in [[1], [3], [100]] {
            #expect(readData(body + bytes(".\r\n"), limit: 24, sizes: sizes) == DataOutcome(stored: body, ended: true))
            let over = readData(body + bytes("x\r\n.\r\nQUIT\r\n"), limit: 24, sizes: sizes)
            #expect(over == DataOutcome(stored: [], tooLarge: true, ended: true, remainder: bytes("QUIT\r\n")))
        }
    }

    @Test func sizeCountsUnstuffedCRLFOctets() {
        var reader = DataReader(maxMessageSize: 100)
        _ = reader.feed(bytes("..a\nb\r\n.\r\n"))
        #expect(reader.messageSize == 7)  // ".a\r\nb\r\n"
        #expect(reader.isFinished)
        #expect(!reader.isTooLarge)
    }

    @Test func keepsConsumingAfterTooLarge() {
        var reader = DataReader(maxMessageSize: 0)
        #expect(reader.feed(bytes("x")) == [.tooLarge])
        #expect(reader.feed(bytes("yyyy\r\n")) == [])
        #expect(reader.feed(bytes(".\r\n")) == [.end])
        #expect(reader.messageSize == 7)
        #expect(reader.feed(bytes("RSET\r\n")) == [])
        #expect(reader.takeRemainder() == bytes("RSET\r\n"))
        #expect(reader.takeRemainder() == [])
    }

    /// Stuffing (RFC 5321 §4.5.2) then reading gives the CRLF-normalised message.
    @Test(arguments: [
        "", "a", "a\n", "a\r\n", ".", "..", ".\n.\n", "x\n.\n..\n...\nend", "\n\n\n", "no newline at end",
        "Subject: x\r\n\r\n.leading\r\n..double\r\ntrailing.", ".\r\n.\r\n",
    ])
    func roundTrip(_ message: String) {
        let outcome = readData(stuff(bytes(message)), sizes: [1])
        #expect(outcome == DataOutcome(stored: normalised(bytes(message)), ended: true))
    }

    @Test func seededRandomRoundTrips() {
        var rng = SplitMix64(seed: 0xF00D)
        let alphabet: [UInt8] = [0x2E, 0x2E, 0x0A, 0x0D, 0x0A, 0x61, 0x20]
        for _ in 0..<500 {
            // Lone CRs are outside the reference stuffer's model; keep CR only before LF.
            let raw = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            var message: [UInt8] = []
            for (index, byte) in raw.enumerated() where byte != 0x0D || raw.indices.contains(index + 1) && raw[index + 1] == 0x0A {
                message.append(byte)
            }
            let sizes = (0..<4).map { _ in Int.random(in: 1...9, using: &rng) }
            #expect(readData(stuff(message) + bytes("NOOP\r\n"), sizes: sizes)
                == DataOutcome(stored: normalised(message), ended: true, remainder: bytes("NOOP\r\n")))
        }
    }
}
