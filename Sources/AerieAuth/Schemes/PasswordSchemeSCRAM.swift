internal import Crypto
public import SASL
internal import _CryptoExtras

/// `{SCRAM-SHA-256}` / `{SCRAM-SHA-1}`: Dovecot's `ITERATIONS,SALT,STOREDKEY,SERVERKEY` (base64 fields,
/// password-scheme-scram.c). It verifies a plain password (IMAP LOGIN, PLAIN) and gives the SCRAM mechanism the
/// stored keys (RFC 5802 §3) without the password.
struct SCRAMScheme: PasswordScheme {
    let hash: SCRAMHash
    var name: String { "SCRAM-" + hash.rawValue }
    /// SHA-1 is weak: refused unless `auth_allow_weak_schemes`, as the SCRAM-SHA-1 mechanism.
    var isWeak: Bool { hash == .sha1 }
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0
    /// Dovecot's default, and RFC 7677 §4's minimum for SCRAM-SHA-256.
    static let defaultIterations = 4096
    /// RFC 7677 §4 (SHOULD be at least 4096), which Dovecot enforces on stored credentials too.
    static let minimumIterations = 4096
    static let saltLength = 16
    /// Refuse absurd costs from a hostile or corrupt passdb line.
    static let maximumIterations = 10_000_000

    static let sha256 = SCRAMScheme(hash: .sha256)
    static let sha1 = SCRAMScheme(hash: .sha1)

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard let stored = Self.parse(raw, hash: hash),
            let salted = Self.saltedPassword(hash, password: password, salt: stored.salt, iterations: stored.iterations)
        else { return .malformed }
        let derived = SCRAMCredentials(
            hash: hash, saltedPassword: salted, salt: stored.salt, iterations: stored.iterations)
        let same =
            ConstantTime.equals(derived.storedKey, stored.storedKey)
            && ConstantTime.equals(derived.serverKey, stored.serverKey)
        return same ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        let iterations = rounds ?? Self.defaultIterations
        guard iterations >= Self.minimumIterations, iterations <= Self.maximumIterations else {
            throw .invalidRounds(iterations)
        }
        let salt = SchemeEncoding.randomBytes(Self.saltLength)
        guard let salted = Self.saltedPassword(hash, password: password, salt: salt, iterations: iterations) else {
            throw .libraryFailure(name)
        }
        return Self.format(SCRAMCredentials(hash: hash, saltedPassword: salted, salt: salt, iterations: iterations))
    }

    static func format(_ credentials: SCRAMCredentials) -> [UInt8] {
        Array(
            ("\(credentials.iterations)," + SASLBase64.encode(credentials.salt) + ","
                + SASLBase64.encode(credentials.storedKey) + "," + SASLBase64.encode(credentials.serverKey)).utf8)
    }

    /// `ITERATIONS,SALT,STOREDKEY,SERVERKEY`; nil when a field is missing, not base64, or the wrong length.
    static func parse(_ raw: [UInt8], hash: SCRAMHash) -> SCRAMCredentials? {
        let fields = raw.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard fields.count == 4, let iterations = Int(String(decoding: fields[0], as: UTF8.self)),
            iterations >= minimumIterations, iterations <= maximumIterations,
            let salt = SchemeEncoding.unbase64(Array(fields[1])), !salt.isEmpty,
            let storedKey = SchemeEncoding.unbase64(Array(fields[2])),
            let serverKey = SchemeEncoding.unbase64(Array(fields[3]))
        else { return nil }
        let length = hash == .sha1 ? Insecure.SHA1.byteCount : SHA256.byteCount
        guard storedKey.count == length, serverKey.count == length else { return nil }
        return SCRAMCredentials(iterations: iterations, salt: salt, storedKey: storedKey, serverKey: serverKey)
    }

    /// RFC 5802 §2.2 Hi(): PBKDF2 with the SCRAM hash's HMAC.
    static func saltedPassword(_ hash: SCRAMHash, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8]? {
        // RFC 7677's 4096 is below swift-crypto's 210,000 floor for SHA-256, hence the unchecked variant.
        let function: KDF.Insecure.PBKDF2.HashFunction = hash == .sha1 ? .insecureSHA1 : .sha256
        let length = hash == .sha1 ? Insecure.SHA1.byteCount : SHA256.byteCount
        guard
            let key = try? KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: function, outputByteCount: length, unsafeUncheckedRounds: iterations)
        else { return nil }
        return key.withUnsafeBytes { Array($0) }
    }
}

extension PasswordSchemes {
    /// What the SCRAM mechanism needs from a stored password: its keys for `{SCRAM-…}` of the same hash, keys
    /// derived on the spot (fresh salt) for a plaintext one. `.failure` says why none can be had.
    public static func scramCredentials(
        stored: String, defaultScheme: String, hash: SCRAMHash, allowWeakSchemes: Bool
    )
        -> Result<SCRAMCredentials, SCRAMCredentialsUnavailable>
    {
        let (schemeName, value) = split(stored: stored, defaultScheme: defaultScheme)
        guard let (scheme, encoding) = lookup(schemeName) else {
            return .failure(.unknownScheme(schemeName.uppercased()))
        }
        if scheme.isWeak && !allowWeakSchemes { return .failure(.weakScheme(scheme.name)) }
        if let scram = scheme as? SCRAMScheme, scram.hash == hash {
            guard let credentials = SCRAMScheme.parse(Array(value.utf8), hash: hash) else {
                return .failure(.malformed)
            }
            return .success(credentials)
        }
        if let plain = scheme as? PlainScheme,
            let raw = decode(Array(value.utf8), scheme: plain, explicitEncoding: encoding)
        {
            let salt = SchemeEncoding.randomBytes(SCRAMScheme.saltLength)
            let iterations = SCRAMScheme.defaultIterations
            guard let salted = SCRAMScheme.saltedPassword(hash, password: raw, salt: salt, iterations: iterations)
            else {
                return .failure(.malformed)
            }
            return .success(SCRAMCredentials(hash: hash, saltedPassword: salted, salt: salt, iterations: iterations))
        }
        return .failure(.otherScheme(scheme.name))
    }
}

/// Why a user's stored password cannot serve a SCRAM exchange (safe to log: names only).
public enum SCRAMCredentialsUnavailable: Error, Sendable, Equatable {
    /// Stored in a scheme SCRAM cannot use (a crypt hash, or SCRAM of another hash).
    case otherScheme(String)
    case weakScheme(String)
    case unknownScheme(String)
    case malformed
}
