internal import Crypto

/// Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), as authenticator apps and `oathtool --totp` make
/// them: 30-second steps from the Unix epoch, 6 digits, HMAC-SHA-1 or HMAC-SHA-256.
public struct TOTP: Sendable, Equatable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
        case sha512 = "SHA512"
    }

    public var secret: [UInt8]
    public var algorithm: Algorithm
    public var digits: Int
    public var period: Int64

    /// RFC 6238 §5.2: one step either side absorbs clock skew and typing time.
    public static let window: Int64 = 1

    public init(secret: [UInt8], algorithm: Algorithm = .sha1, digits: Int = 6, period: Int64 = 30) {
        self.secret = secret
        self.algorithm = algorithm
        self.digits = min(max(digits, 6), 8)
        self.period = max(period, 1)
    }

    /// RFC 6238 §4.2: T = floor((unixTime - T0) / X), T0 = 0.
    public func step(at unixTime: Int64) -> Int64 { unixTime >= 0 ? unixTime / period : 0 }

    /// The code for a step, zero-padded to `digits`.
    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let key = SymmetricKey(data: secret)
        let mac: [UInt8] =
            switch algorithm {
            case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
            case .sha256: Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
            case .sha512: Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
            }
        // RFC 4226 §5.3 dynamic truncation.
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary =
            UInt32(mac[offset] & 0x7F) << 24 | UInt32(mac[offset + 1]) << 16 | UInt32(mac[offset + 2]) << 8
            | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public func code(at unixTime: Int64) -> String { code(step: step(at: unixTime)) }

    /// The step whose code `candidate` is, within ±`window` of now and after `usedStep` (a code, once accepted,
    /// is never accepted again, nor any older one: RFC 6238 §5.2); nil otherwise.
    public func verify(_ candidate: String, at unixTime: Int64, after usedStep: Int64?) -> Int64? {
        guard candidate.utf8.count == digits, candidate.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        let now = step(at: unixTime)
        var matched: Int64?
        // Every candidate step is computed and compared, so the time taken does not say which one matched.
        for step in (now - Self.window)...(now + Self.window) where step >= 0 {
            if Self.equals(code(step: step), candidate), step > (usedStep ?? -1) { matched = step }
        }
        return matched
    }

    static func equals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// The `otpauth://` URI authenticator apps scan (Google Authenticator's Key Uri Format).
    public func uri(issuer: String, account: String) -> String {
        func escape(_ text: String) -> String {
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
            let hex = Array("0123456789ABCDEF")
            return text.utf8.map {
                allowed.contains($0) ? String(UnicodeScalar($0)) : "%\(hex[Int($0 >> 4)])\(hex[Int($0 & 15)])"
            }
            .joined()
        }
        return "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(Base32.encode(secret))"
            + "&issuer=\(escape(issuer))&algorithm=\(algorithm.rawValue)&digits=\(digits)&period=\(period)"
    }
}

/// RFC 4648 §6 base32 without padding, as otpauth URIs and `oathtool -b` use it.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int(buffer >> UInt32(bits - 5) & 0x1F)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int(buffer << UInt32(5 - bits) & 0x1F)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Case-insensitive; spaces and padding ignored; nil on any other character.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.uppercased().utf8 where character != UInt8(ascii: " ") && character != UInt8(ascii: "=") {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = buffer << 5 | UInt32(value)
            bits += 5
            if bits >= 8 {
                out.append(UInt8(buffer >> UInt32(bits - 8) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}
