internal import Crypto
internal import _CryptoExtras

/// PBKDF2: Dovecot's `$1$SALT$ROUNDS$HEXHASH`, PBKDF2-HMAC-SHA1 with the salt's text as salt and a 20-byte key
/// (Dovecot password-scheme-pbkdf2.c).
struct PBKDF2Scheme: PasswordScheme {
    let name = "PBKDF2"
    let isWeak = false
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0
    static let keySize = 20
    static let saltLength = 16
    static let defaultRounds = 5000
    /// Refuse absurd costs from a hostile or corrupt passdb line instead of spinning for hours.
    static let maximumRounds = 10_000_000

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard raw.starts(with: "$1$".utf8) else { return .malformed }
        let fields = raw.dropFirst(3).split(separator: UInt8(ascii: "$"), omittingEmptySubsequences: false)
        guard fields.count == 3,
            let rounds = Int(String(decoding: fields[1], as: UTF8.self)), rounds >= 1, rounds <= Self.maximumRounds,
            fields[2].count == Self.keySize * 2, let expected = SchemeEncoding.unhex(Array(fields[2]))
        else { return .malformed }
        guard let key = Self.derive(password: password, salt: Array(fields[0]), rounds: rounds) else { return .malformed }
        return ConstantTime.equals(key, expected) ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        let rounds = rounds ?? Self.defaultRounds
        guard rounds >= 1, rounds <= Self.maximumRounds else { throw .invalidRounds(rounds) }
        let salt = SchemeEncoding.salt(length: Self.saltLength)
        guard let key = Self.derive(password: password, salt: salt, rounds: rounds) else { throw .libraryFailure("PBKDF2") }
        return Array("$1$".utf8) + salt + Array("$\(rounds)$".utf8) + SchemeEncoding.hex(key)
    }

    static func derive(password: [UInt8], salt: [UInt8], rounds: Int) -> [UInt8]? {
        // Dovecot's default 5000 rounds is below swift-crypto's 210,000 floor, hence the unchecked variant.
        guard
            let key = try? KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: .insecureSHA1, outputByteCount: keySize, unsafeUncheckedRounds: rounds)
        else { return nil }
        return key.withUnsafeBytes { Array($0) }
    }
}
