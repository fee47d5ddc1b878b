/// CRYPT: whatever libxcrypt verifies (`$6$`, `$5$`, `$2y$`, `$y$`, `$gy$`, …). Its weakness depends on the hash:
/// traditional DES and `$1$` MD5 are refused unless weak schemes are allowed (as Dovecot's crypt_verify).
struct CryptScheme: PasswordScheme {
    let name = "CRYPT"
    let isWeak = false
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        if !allowWeak, let weak = Self.weakMethod(raw) { return .weakSchemeRefused(weak) }
        return CryptVerifier.check(password: password, stored: raw)
    }

    /// The weak scheme a crypt string uses, if any.
    static func weakMethod(_ raw: [UInt8]) -> String? {
        guard raw.count > 1 else { return nil }
        if raw[0] != UInt8(ascii: "$") { return "DES-CRYPT" }  // traditional and BSDi "_" DES
        if raw.starts(with: "$1$".utf8) { return "MD5-CRYPT" }
        if raw.starts(with: "$3$".utf8) { return "NT-CRYPT" }
        if raw.starts(with: "$md5".utf8) || raw.starts(with: "$sha1$".utf8) { return "SUN-CRYPT" }
        return nil
    }

    /// libxcrypt's preferred method (yescrypt on Debian 12), the strongest default the system offers.
    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        guard let setting = LibXCrypt.gensalt(prefix: nil, count: rounds ?? 0) else { throw .invalidRounds(rounds ?? 0) }
        guard let hashed = LibXCrypt.crypt(password: password, setting: setting) else { throw .libraryFailure("crypt_rn") }
        return hashed
    }
}

/// MD5-CRYPT: `$1$salt$hash` (weak: fast and broken for password storage).
struct MD5CryptScheme: CryptFamilyScheme {
    let name = "MD5-CRYPT"
    let isWeak = true
    let acceptedPrefixes = ["$1$"]
    let gensaltPrefix: String? = "$1$"
    let defaultRounds = 0
}

/// DES-CRYPT: traditional 13-character crypt (weak: 8-character passwords, 12-bit salt).
struct DESCryptScheme: CryptFamilyScheme {
    let name = "DES-CRYPT"
    let isWeak = true
    let acceptedPrefixes: [String] = []
    let gensaltPrefix: String? = ""
    let defaultRounds = 0
}
