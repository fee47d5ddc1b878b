/// Result of checking a password against a stored hash. Carries no secret, so it is safe to log.
public enum PasswordCheck: Sendable, Equatable {
    case match
    case mismatch
    /// The hash uses a scheme Aerie refuses unless `allowWeakSchemes` is set; the associated value names it.
    case weakSchemeRefused(String)
    case unknownScheme(String)
    /// The stored value does not decode for its scheme (bad base64/hex, wrong length, bad fields).
    case malformed
}

/// How a scheme's raw value is written after `{SCHEME}` (Dovecot's `enum password_encoding`).
enum PasswordEncoding: Sendable {
    case none, base64, hex
}

/// Errors of `PasswordSchemes.hash`; none carries the password.
public enum PasswordHashError: Error, Sendable, Equatable {
    case unknownScheme(String)
    /// Known for verification only (Aerie cannot make it without hash internals).
    case generationUnsupported(String)
    case invalidRounds(Int)
    case libraryFailure(String)
}

/// One password scheme, as Dovecot's `struct password_scheme`: verification works on the decoded raw value.
protocol PasswordScheme: Sendable {
    var name: String { get }
    /// Refused unless weak schemes are allowed.
    var isWeak: Bool { get }
    var defaultEncoding: PasswordEncoding { get }
    /// Length of the decoded raw value, 0 when variable; lets verification guess hex vs base64 as Dovecot does.
    var rawLength: Int { get }
    /// Checks `password` (UTF-8, no NUL) against the decoded raw value.
    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck
    /// Makes the raw value for `password`; nil `rounds` means the scheme's default cost.
    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8]
}

/// Schemes whose stored value is a digest compared after regenerating it (Dovecot's generic verify path).
protocol GeneratedPasswordScheme: PasswordScheme {}

extension GeneratedPasswordScheme {
    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard let expected = try? generate(password: password, rounds: nil) else { return .malformed }
        return ConstantTime.equals(expected, raw) ? .match : .mismatch
    }
}
