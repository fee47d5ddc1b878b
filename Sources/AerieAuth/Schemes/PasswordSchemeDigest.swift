/// Unsalted digests: SHA/SHA1, SHA256, SHA512 (base64), PLAIN-MD5 (hex), LDAP-MD5 (base64). All weak: one fast
/// unsalted hash per password falls to precomputed tables.
struct PlainDigestScheme: GeneratedPasswordScheme {
    let name: String
    let algorithm: DigestAlgorithm
    let defaultEncoding: PasswordEncoding
    let isWeak = true
    var rawLength: Int { algorithm.length }

    static let sha = PlainDigestScheme(name: "SHA", algorithm: .sha1, defaultEncoding: .base64)
    static let sha1 = PlainDigestScheme(name: "SHA1", algorithm: .sha1, defaultEncoding: .base64)
    static let sha256 = PlainDigestScheme(name: "SHA256", algorithm: .sha256, defaultEncoding: .base64)
    static let sha512 = PlainDigestScheme(name: "SHA512", algorithm: .sha512, defaultEncoding: .base64)
    static let plainMD5 = PlainDigestScheme(name: "PLAIN-MD5", algorithm: .md5, defaultEncoding: .hex)
    static let ldapMD5 = PlainDigestScheme(name: "LDAP-MD5", algorithm: .md5, defaultEncoding: .base64)

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        algorithm.digest(password)
    }
}

/// MD5: Dovecot's ambiguous legacy name: `$1$` MD5-CRYPT or else PLAIN-MD5 (hex or base64). Weak.
struct LegacyMD5Scheme: PasswordScheme {
    let name = "MD5"
    let isWeak = true
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        if raw.starts(with: "$1$".utf8) { return CryptVerifier.check(password: password, stored: raw) }
        let decoded = raw.count == 32 ? SchemeEncoding.unhex(raw) : SchemeEncoding.unbase64(raw)
        guard let decoded, decoded.count == 16 else { return .malformed }
        return ConstantTime.equals(DigestAlgorithm.md5.digest(password), decoded) ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        try MD5CryptScheme().generate(password: password, rounds: rounds)
    }
}

/// Schemes Aerie recognises (so they are refused by name) but cannot compute with the primitives it links:
/// CRAM-MD5/HMAC-MD5 store MD5's internal HMAC state and PLAIN-MD4 needs MD4. All weak.
struct UnsupportedScheme: PasswordScheme {
    let name: String
    let isWeak = true
    let defaultEncoding = PasswordEncoding.hex
    let rawLength: Int

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck { .unknownScheme(name) }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        throw .generationUnsupported(name)
    }
}
