internal import SASL

/// Hex, base64 and salt helpers shared by the schemes (Dovecot's hex-binary.c, base64.c, password_generate_salt).
enum SchemeEncoding {
    private static let hexDigits = Array("0123456789abcdef".utf8)
    /// Dovecot's salt_chars: what crypt(3)-style salts may contain.
    static let saltCharacters = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func hex(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0F)])
        }
        return out
    }

    /// Either case accepted, as Dovecot's hex_to_binary.
    static func unhex(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var index = 0
        while index < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    static func base64(_ bytes: [UInt8]) -> [UInt8] { Array(SASLBase64.encode(bytes).utf8) }

    /// Accepts missing padding, which some LDAP exports drop; otherwise strict.
    static func unbase64(_ text: [UInt8]) -> [UInt8]? {
        guard !text.isEmpty else { return [] }
        var padded = text
        while padded.count % 4 != 0 { padded.append(UInt8(ascii: "=")) }
        return SASLBase64.decode(String(decoding: padded, as: UTF8.self))
    }

    /// A random salt from `saltCharacters`, using the system CSPRNG.
    static func salt(length: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<length).map { _ in saltCharacters.randomElement(using: &generator)! }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
