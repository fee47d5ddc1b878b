import AerieTestSupport
import Testing

@testable import POP3Protocol

@Suite("DotStuffer")
struct DotStufferTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var message: String
        var bodyLines: Int?
        var wire: String
        var testDescription: String { "\(message.debugDescription) top=\(bodyLines.map(String.init) ?? "-")" }
    }

    static let fixtures: [Fixture] = [
        Fixture(message: "", wire: ".\r\n"),
        Fixture(message: "a\r\n", wire: "a\r\n.\r\n"),
        Fixture(message: "a\n", wire: "a\r\n.\r\n"),  // bare LF gains its CR
        Fixture(message: "a", wire: "a\r\n.\r\n"),  // no final newline
        Fixture(message: "a\r", wire: "a\r\n.\r\n"),  // a final CR ends the line
        Fixture(message: "a\rb\r\n", wire: "a\rb\r\n.\r\n"),  // a lone CR inside a line is kept (as Dovecot)
        Fixture(message: ".\r\n", wire: "..\r\n.\r\n"),
        Fixture(message: "..\n", wire: "...\r\n.\r\n"),
        Fixture(message: "S: x\n\n.hidden\n..two\nend.\n.", wire: "S: x\r\n\r\n..hidden\r\n...two\r\nend.\r\n..\r\n.\r\n"),
        Fixture(message: "\r\n\r\n", wire: "\r\n\r\n.\r\n"),
        // TOP n (RFC 1939 §7): header, blank line, n body lines.
        Fixture(message: "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n", bodyLines: 0, wire: "H: 1\r\nH: 2\r\n\r\n.\r\n"),
        Fixture(message: "H: 1\nH: 2\n\nb1\nb2\n", bodyLines: 1, wire: "H: 1\r\nH: 2\r\n\r\nb1\r\n.\r\n"),
        Fixture(message: "H: 1\n\n.b1\nb2", bodyLines: 2, wire: "H: 1\r\n\r\n..b1\r\nb2\r\n.\r\n"),
        Fixture(message: "H: 1\n\nb1\n", bodyLines: 5, wire: "H: 1\r\n\r\nb1\r\n.\r\n"),
        Fixture(message: "H: 1\nH: 2", bodyLines: 0, wire: "H: 1\r\nH: 2\r\n.\r\n"),  // header only, no blank line
        Fixture(message: "\nbody\n", bodyLines: 0, wire: "\r\n.\r\n"),  // empty header
        Fixture(message: "H: 1\r\n\rx\r\n\r\nb\r\n", bodyLines: 0, wire: "H: 1\r\n\rx\r\n\r\n.\r\n"),  // "\rx" is not blank
        Fixture(message: "H: 1\r\n \r\nb\r\n\r\nc\r\n", bodyLines: 1, wire: "H: 1\r\n \r\nb\r\n\r\nc\r\n.\r\n"),  // " " is not blank
    ]

    @Test(arguments: fixtures)
    func wholeMessage(_ fixture: Fixture) {
        #expect(DotStuffer.stuff(bytes(fixture.message), bodyLines: fixture.bodyLines) == bytes(fixture.wire))
    }

    @Test(arguments: fixtures)
    func byteByByte(_ fixture: Fixture) {
        #expect(stuffInChunks(bytes(fixture.message), bodyLines: fixture.bodyLines, sizes: [1]) == bytes(fixture.wire))
    }

    @Test(arguments: fixtures)
    func seededRandomChunks(_ fixture: Fixture) {
        var rng = SplitMix64(seed: 0xD07)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...5, using: &rng) }
            #expect(stuffInChunks(bytes(fixture.message), bodyLines: fixture.bodyLines, sizes: sizes) == bytes(fixture.wire))
        }
    }

    @Test func topStopsReading() {
        var stuffer = DotStuffer(bodyLines: 0)
        #expect(stuffer.feed(bytes("H: 1\r\n")) == bytes("H: 1\r\n"))
        #expect(!stuffer.isComplete)
        #expect(stuffer.feed(bytes("\r\nbody\r\n")) == bytes("\r\n"))
        #expect(stuffer.isComplete)
        #expect(stuffer.feed(bytes("more\r\n")) == [])
        #expect(stuffer.finish() == bytes(".\r\n"))
        #expect(stuffer.finish() == [])
    }

    @Test func retrNeverCompletesEarly() {
        var stuffer = DotStuffer()
        _ = stuffer.feed(bytes("H: 1\r\n\r\nb\r\n"))
        #expect(!stuffer.isComplete)
    }

    /// Stuffing then reading back gives the CRLF-normalised message (RFC 1939 §3).
    @Test(arguments: [
        "", "a", "a\n", "a\r\n", ".", "..", ".\n.\n", "x\n.\n..\n...\nend", "line\n.\r\n", "\n\n\n", "no newline at end",
        "Subject: x\r\n\r\n.leading\r\n..double\r\ntrailing.", "a\rb\n",
    ])
    func roundTrip(_ message: String) {
        let wire = DotStuffer.stuff(bytes(message))
        #expect(unstuff(wire) == normalised(bytes(message)))
    }

    @Test func seededRandomRoundTrips() {
        var rng = SplitMix64(seed: 0x5EED)
        let alphabet: [UInt8] = [0x2E, 0x2E, 0x0A, 0x0D, 0x0A, 0x61, 0x62, 0x20]
        for _ in 0..<500 {
            let message = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let sizes = (0..<4).map { _ in Int.random(in: 1...9, using: &rng) }
            let wire = stuffInChunks(message, bodyLines: nil, sizes: sizes)
            #expect(wire == DotStuffer.stuff(message))
            #expect(unstuff(wire) == normalised(message))
        }
    }

    @Test func largeMessageKeepsItsSize() {
        let line = bytes(String(repeating: "x", count: 998) + "\n")
        let message = Array([[UInt8]](repeating: line, count: 2_000).joined())
        let wire = stuffInChunks(message, bodyLines: nil, sizes: [65_536, 4_096, 17])
        #expect(wire.count == message.count + 2_000 + 3)
    }

    private func stuffInChunks(_ message: [UInt8], bodyLines: Int?, sizes: [Int]) -> [UInt8] {
        var stuffer = DotStuffer(bodyLines: bodyLines)
        var out: [UInt8] = []
        for chunk in chunks(message, sizes: sizes) { stuffer.feed(chunk, into: &out) }
        out += stuffer.finish()
        return out
    }

    /// The message as RETR promises it: LF or CRLF line ends become CRLF, a lone CR in a line is kept,
    /// and the last line always ends with CRLF (a final lone CR counts as its end).
    private func normalised(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < message.count {
            let byte = message[index]
            if byte == 0x0D, index + 1 < message.count, message[index + 1] == 0x0A {
                out += [0x0D, 0x0A]
                index += 2
                continue
            }
            if byte == 0x0A || (byte == 0x0D && index + 1 == message.count) {
                out += [0x0D, 0x0A]
            } else {
                out.append(byte)
            }
            index += 1
        }
        if !out.isEmpty, out.suffix(2) != [0x0D, 0x0A] { out += [0x0D, 0x0A] }
        return out
    }
}
