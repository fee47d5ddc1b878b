/// Strict RFC 4648 §4 base64 for SASL lines (RFC 4422 §3.4 / RFC 3501 §6.2.2): no whitespace, no line breaks,
/// padding required, non-zero trailing bits refused, so one text has exactly one meaning.
public enum SASLBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Reverse lookup: 0xFF marks a byte outside the alphabet.
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Decodes one client line. `"="` alone is the empty response of SASL-IR (RFC 4959 §3), as is the empty line.
    /// Returns nil for anything that is not canonical base64.
    public static func decode(_ line: String) -> [UInt8]? {
        let input = Array(line.utf8)
        if input.isEmpty || input == [UInt8(ascii: "=")] { return [] }
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c0 = reverse[Int(input[index])], c1 = reverse[Int(input[index + 1])]
            guard c0 != 0xFF, c1 != 0xFF else { return nil }
            let p2 = input[index + 2] == UInt8(ascii: "="), p3 = input[index + 3] == UInt8(ascii: "=")
            // Padding only at the very end, and "x=y" is never valid.
            if p2 || p3 { guard isLast, p3 else { return nil } }
            output.append(c0 << 2 | c1 >> 4)
            if p2 {
                guard c1 & 0x0F == 0 else { return nil }  // non-canonical trailing bits
                break
            }
            let c2 = reverse[Int(input[index + 2])]
            guard c2 != 0xFF else { return nil }
            output.append((c1 & 0x0F) << 4 | c2 >> 2)
            if p3 {
                guard c2 & 0x03 == 0 else { return nil }
                break
            }
            let c3 = reverse[Int(input[index + 3])]
            guard c3 != 0xFF else { return nil }
            output.append((c2 & 0x03) << 6 | c3)
            index += 4
        }
        return output
    }

    /// Encodes with padding; the empty input gives the empty string (callers that need SASL-IR's "=" add it).
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
