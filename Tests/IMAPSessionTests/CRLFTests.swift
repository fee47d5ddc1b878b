import IMAPProtocol
@testable import IMAPSession
import Testing

/// BODY[] serves Maildir's LF-terminated files with CRLF line ends (RFC 9051 §2.2: lines end in CRLF).
@Suite struct CRLFTests {
    /// The plain definition, byte by byte: every LF not preceded by CR gets one.
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 10 && previous != 13 { out.append(13) }
            out.append(byte)
            previous = byte
        }
        return out
    }

    @Test(arguments: [
        "", "\n", "\r\n", "\r", "a", "a\n", "\na", "a\r\nb\nc\r\n", "\n\n\r\n\n", "x\r\r\n\ry\n", "Subject: hi\n\nbody",
    ])
    func examples(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(CRLF.normalize(bytes) == Self.reference(bytes))
    }

    @Test func randomInputsMatchTheDefinition() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [10, 13, 65, 0, 0xFF]
        for _ in 0..<2_000 {
            let count = Int.random(in: 0..<200, using: &generator)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            let expected = Self.reference(bytes)
            #expect(CRLF.normalize(bytes) == expected)
            var buffer = [UInt8](repeating: 0, count: expected.count)
            let needed = buffer.withUnsafeMutableBufferPointer { CRLF.write(bytes, into: $0) }
            #expect(needed == expected.count && buffer == expected)
        }
    }

    /// BODY[] is written into the response from an estimate (the W= size); a wrong estimate still gives the exact
    /// literal.
    @Test(arguments: [-3, -1, 0, 1, 5])
    func literalFromAnEstimateIsExactEvenWhenTheEstimateIsWrong(_ error: Int) {
        let raw = Array("Subject: x\n\nline one\nline two\r\nend\n".utf8)
        let converted = Self.reference(raw)
        var expected = FetchResponseBuilder(sequenceNumber: 1)
        expected.uid(7)
        expected.literal("BODY[]", converted)
        var built = FetchResponseBuilder(sequenceNumber: 1)
        built.uid(7)
        built.literal(
            "BODY[]", count: converted.count + error, fill: { CRLF.write(raw, into: $0) },
            fallback: { CRLF.normalize(raw) })
        #expect(built.finish() == expected.finish())
    }
}
