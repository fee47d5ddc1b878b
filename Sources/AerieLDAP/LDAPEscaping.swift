/// Escaping of untrusted values (user names) before they become part of a search filter or a DN.
public enum LDAPEscaping {
    /// Escapes an assertion value for a string filter: `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`,
    /// `\5c`, `\00`; other control characters are escaped too (allowed, and harmless). Invalid UTF-8 cannot
    /// occur in a Swift `String`.
    /// - SeeAlso: RFC 4515 §3 (`valueencoding`)
    public static func filterValue(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*", "(", ")", "\\": out += hex(UInt8(scalar.value))
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += hex(UInt8(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Escapes an attribute value for a DN: `"`, `+`, `,`, `;`, `<`, `>`, `\`, `=`, NUL and control characters
    /// anywhere, `#` or a space at the start and a space at the end, each as `\XX`.
    /// - SeeAlso: RFC 4514 §2.4
    public static func dnValue(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for (index, scalar) in scalars.enumerated() {
            let special: Bool
            switch scalar {
            case "\"", "+", ",", ";", "<", ">", "\\", "=": special = true
            case "#": special = index == 0
            case " ": special = index == 0 || index == scalars.count - 1
            default: special = scalar.value < 0x20 || scalar.value == 0x7F
            }
            if special { out += hex(UInt8(scalar.value)) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        return "\\" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}
