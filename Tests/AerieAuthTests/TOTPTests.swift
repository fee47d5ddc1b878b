import Testing

@testable import AerieAuth

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B: 8-digit codes for the seeds "1234567890" repeated to the hash's length.
    @Test func rfc6238Vectors() {
        let sha1 = TOTP(secret: Array("12345678901234567890".utf8), algorithm: .sha1, digits: 8)
        let sha256 = TOTP(secret: Array("12345678901234567890123456789012".utf8), algorithm: .sha256, digits: 8)
        let sha512 = TOTP(
            secret: Array("1234567890123456789012345678901234567890123456789012345678901234".utf8), algorithm: .sha512,
            digits: 8)
        let table: [(Int64, String, String, String)] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ]
        for (time, a, b, c) in table {
            #expect(sha1.code(at: time) == a)
            #expect(sha256.code(at: time) == b)
            #expect(sha512.code(at: time) == c)
        }
    }

    @Test func windowAndReplay() {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        let now: Int64 = 1_234_567_890
        let current = totp.code(at: now)
        #expect(current.count == 6)
        #expect(totp.verify(current, at: now, after: nil) == totp.step(at: now))
        #expect(totp.verify(totp.code(at: now - 30), at: now, after: nil) == totp.step(at: now) - 1)
        #expect(totp.verify(totp.code(at: now + 30), at: now, after: nil) == totp.step(at: now) + 1)
        #expect(totp.verify(totp.code(at: now - 60), at: now, after: nil) == nil)
        #expect(totp.verify(totp.code(at: now + 60), at: now, after: nil) == nil)
        // Used once: neither it nor an older code is accepted again.
        let used = totp.step(at: now)
        #expect(totp.verify(current, at: now, after: used) == nil)
        #expect(totp.verify(totp.code(at: now - 30), at: now, after: used) == nil)
        #expect(totp.verify(totp.code(at: now + 30), at: now, after: used) == used + 1)
        for bad in ["", "12345", "1234567", "12345a", " 123456"] {
            #expect(totp.verify(bad, at: now, after: nil) == nil)
        }
    }

    @Test func base32AndURI() {
        #expect(Base32.encode(Array("12345678901234567890".utf8)) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(Base32.decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq") == Array("12345678901234567890".utf8))
        #expect(Base32.encode([0xFF]) == "74" && Base32.decode("74") == [0xFF])
        #expect(Base32.decode("01") == nil)
        let uri = TOTP(secret: Array("12345678901234567890".utf8)).uri(issuer: "Aerie", account: "a b@example.com")
        #expect(
            uri == "otpauth://totp/Aerie:a%20b%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Aerie"
                + "&algorithm=SHA1&digits=6&period=30")
    }
}
