/// SSHA512, SSHA256, SSHA, SMD5: base64(digest(password + salt) + salt) (Dovecot password-scheme.c ssha*_verify).
struct SaltedDigestScheme: PasswordScheme {
    let name: String
    let algorithm: DigestAlgorithm
    let isWeak: Bool
    let defaultEncoding = PasswordEncoding.base64
    let rawLength = 0
    /// Dovecot generates 4-byte salts; verification accepts any non-empty salt.
    static let saltLength = 4

    static let ssha512 = SaltedDigestScheme(name: "SSHA512", algorithm: .sha512, isWeak: false)
    static let ssha256 = SaltedDigestScheme(name: "SSHA256", algorithm: .sha256, isWeak: false)
    /// SHA-1 and MD5 based: weak.
    static let ssha = SaltedDigestScheme(name: "SSHA", algorithm: .sha1, isWeak: true)
    static let smd5 = SaltedDigestScheme(name: "SMD5", algorithm: .md5, isWeak: true)

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard raw.count > algorithm.length else { return .malformed }
        let stored = Array(raw.prefix(algorithm.length))
        let computed = algorithm.digest(password, Array(raw.dropFirst(algorithm.length)))
        return ConstantTime.equals(computed, stored) ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        let salt = SchemeEncoding.randomBytes(Self.saltLength)
        return algorithm.digest(password, salt) + salt
    }
}
