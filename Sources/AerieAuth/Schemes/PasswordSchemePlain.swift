/// PLAIN, CLEAR, CLEARTEXT: the password itself. Weak: anyone who reads the passdb has every password.
struct PlainScheme: PasswordScheme {
    let name: String
    let isWeak = true
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        ConstantTime.equals(password, raw) ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] { password }
}

/// PLAIN-TRUNC: `LENGTH-password`, for passdbs that truncated passwords; a longer given password
/// matches when its first LENGTH bytes do (Dovecot plain_trunc_verify). Weak.
struct PlainTruncScheme: PasswordScheme {
    let name = "PLAIN-TRUNC"
    let isWeak = true
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard let dash = raw.firstIndex(of: UInt8(ascii: "-")), dash > 0, dash <= 9,
            raw[..<dash].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let truncatedLength = Int(String(decoding: raw[..<dash], as: UTF8.self))
        else { return .malformed }
        let stored = Array(raw[(dash + 1)...])
        if stored.count == truncatedLength && password.count >= truncatedLength {
            return ConstantTime.equals(Array(password.prefix(truncatedLength)), stored) ? .match : .mismatch
        }
        return ConstantTime.equals(password, stored) ? .match : .mismatch
    }

    /// doveadm writes no length prefix, which its own verifier then rejects; write one so the value verifies.
    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        Array("\(password.count)-".utf8) + password
    }
}
