/// The scheme registry and the `{SCHEME}` parsing every passdb uses (Dovecot password-scheme.c).
public enum PasswordSchemes {
    static let all: [any PasswordScheme] = [
        SHA512CryptScheme(), SHA256CryptScheme(), BLFCryptScheme(), CryptScheme(),
        Argon2Scheme.argon2id, Argon2Scheme.argon2i, PBKDF2Scheme(),
        SCRAMScheme.sha256, SCRAMScheme.sha1,
        SaltedDigestScheme.ssha512, SaltedDigestScheme.ssha256, SaltedDigestScheme.ssha, SaltedDigestScheme.smd5,
        PlainDigestScheme.sha, PlainDigestScheme.sha1, PlainDigestScheme.sha256, PlainDigestScheme.sha512,
        PlainDigestScheme.plainMD5, PlainDigestScheme.ldapMD5, LegacyMD5Scheme(), MD5CryptScheme(), DESCryptScheme(),
        PlainScheme(name: "PLAIN"), PlainScheme(name: "CLEAR"), PlainScheme(name: "CLEARTEXT"), PlainTruncScheme(),
        UnsupportedScheme(name: "CRAM-MD5", rawLength: 32), UnsupportedScheme(name: "HMAC-MD5", rawLength: 32),
        UnsupportedScheme(name: "PLAIN-MD4", rawLength: 16),
    ]

    private static let byName: [String: any PasswordScheme] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Names `verify` recognises, in registry order (strong ones first).
    public static var supportedSchemes: [String] { all.map(\.name) }

    /// Whether a scheme name (with or without `.HEX`/`.B64`) is weak. CRYPT is not: its weakness depends on the
    /// hash, which `verify` checks. An unknown name counts as weak, since nothing vouches for it.
    public static func isWeak(scheme: String) -> Bool {
        guard let (found, _) = lookup(scheme) else { return true }
        return found.isWeak
    }

    /// Checks `password` against `stored` (`{SCHEME}value`, or a bare value in `defaultScheme`).
    /// CPU-heavy for crypt and argon2 hashes: call it from `PasswordHashingPool`, never from an event loop.
    public static func verify(password: String, stored: String, defaultScheme: String = "CRYPT", allowWeakSchemes: Bool)
        -> PasswordCheck
    {
        let (schemeName, value) = split(stored: stored, defaultScheme: defaultScheme)
        guard let (scheme, explicitEncoding) = lookup(schemeName) else { return .unknownScheme(schemeName.uppercased()) }
        if scheme.isWeak && !allowWeakSchemes { return .weakSchemeRefused(scheme.name) }
        guard let raw = decode(Array(value.utf8), scheme: scheme, explicitEncoding: explicitEncoding) else {
            return .malformed
        }
        let passwordBytes = Array(password.utf8)
        // A NUL would be cut off by C (and by Dovecot's strlen): never let "abc\0x" pass as "abc".
        if passwordBytes.contains(0) { return .mismatch }
        return scheme.verify(password: passwordBytes, raw: raw, allowWeak: allowWeakSchemes)
    }

    /// Makes `{SCHEME}value` in the form `doveadm pw -s SCHEME` prints. `rounds` is the cost: crypt rounds,
    /// bcrypt log2 cost, argon2 passes, PBKDF2 iterations.
    public static func hash(password: String, scheme: String, rounds: Int? = nil) throws -> String {
        guard let (found, explicitEncoding) = lookup(scheme) else { throw PasswordHashError.unknownScheme(scheme.uppercased()) }
        let passwordBytes = Array(password.utf8)
        let raw = try found.generate(password: passwordBytes, rounds: rounds)
        let encoded: [UInt8] =
            switch explicitEncoding ?? found.defaultEncoding {
            case .none: raw
            case .base64: SchemeEncoding.base64(raw)
            case .hex: SchemeEncoding.hex(raw)
            }
        return "{\(scheme.uppercased())}" + String(decoding: encoded, as: UTF8.self)
    }

    /// `{SCHEME}rest` → (SCHEME, rest); a bare `$1$salt$hash` is MD5-CRYPT (Dovecot password_get_scheme);
    /// anything else is in the passdb's default scheme.
    static func split(stored: String, defaultScheme: String) -> (scheme: String, value: Substring) {
        if stored.hasPrefix("{"), let close = stored.firstIndex(of: "}") {
            return (String(stored[stored.index(after: stored.startIndex)..<close]), stored[stored.index(after: close)...])
        }
        if stored.hasPrefix("$1$"), stored.dropFirst(3).contains("$") { return ("MD5-CRYPT", stored[...]) }
        return (defaultScheme, stored[...])
    }

    /// Scheme and explicit encoding for `NAME[.HEX|.B64|.BASE64]`, case-insensitive; nil for unknown names or encodings.
    static func lookup(_ name: String) -> (any PasswordScheme, PasswordEncoding?)? {
        let parts = name.uppercased().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let scheme = byName[String(first)] else { return nil }
        guard parts.count == 2 else { return (scheme, nil) }
        switch parts[1] {
        case "HEX": return (scheme, .hex)
        case "B64", "BASE64": return (scheme, .base64)
        default: return nil
        }
    }

    /// Decodes the stored text to the scheme's raw value (Dovecot password_decode): without an explicit encoding,
    /// fixed-length schemes are hex when the text is exactly twice the raw length, base64 otherwise.
    static func decode(_ text: [UInt8], scheme: any PasswordScheme, explicitEncoding: PasswordEncoding?) -> [UInt8]? {
        var encoding = explicitEncoding ?? scheme.defaultEncoding
        var guessed = false
        if explicitEncoding == nil, encoding != .none, scheme.rawLength != 0 {
            encoding = text.count == scheme.rawLength * 2 ? .hex : .base64
            guessed = true
        }
        var raw: [UInt8]?
        switch encoding {
        case .none: raw = text
        case .hex:
            raw = SchemeEncoding.unhex(text)
            // Some lengths are valid in both encodings: fall back to base64 when the guess was hex.
            if raw == nil && guessed { raw = SchemeEncoding.unbase64(text) }
        case .base64: raw = SchemeEncoding.unbase64(text)
        }
        guard let raw, scheme.rawLength == 0 || raw.count == scheme.rawLength else { return nil }
        return raw
    }
}
