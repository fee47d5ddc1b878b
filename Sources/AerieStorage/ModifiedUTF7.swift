/// Modified UTF-7 (RFC 3501 §5.1.3): how Dovecot spells non-ASCII mailbox names on disk, and how IMAP4rev1 clients see them.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(index) }
        return table
    }()

    public static func encode(_ s: String) -> String {
        var out = [UInt8]()
        var pending = [UInt16]()

        func flush() {
            guard !pending.isEmpty else { return }
            var bytes = [UInt8]()
            for unit in pending { bytes.append(UInt8(unit >> 8)); bytes.append(UInt8(unit & 0xFF)) }
            out.append(UInt8(ascii: "&"))
            var index = 0
            while index < bytes.count {
                let b0 = bytes[index]
                let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
                let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                if index + 1 < bytes.count { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) }
                if index + 2 < bytes.count { out.append(alphabet[Int(b2 & 0x3F)]) }
                index += 3
            }
            out.append(UInt8(ascii: "-"))
            pending.removeAll()
        }

        for scalar in s.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value <= 0x7E {
                flush()
                out.append(UInt8(scalar.value))
                if scalar == "&" { out.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `s` is not valid modified UTF-7 (raw 8-bit, bad base64, encoded printable ASCII, odd bytes).
    public static func decode(_ s: String) -> String? {
        let input = Array(s.utf8)
        var result = ""
        var index = 0
        while index < input.count {
            let byte = input[index]
            guard byte >= 0x20 && byte <= 0x7E else { return nil }
            if byte != UInt8(ascii: "&") {
                result.unicodeScalars.append(Unicode.Scalar(byte))
                index += 1
                continue
            }
            index += 1
            guard index < input.count else { return nil }
            if input[index] == UInt8(ascii: "-") {
                result.append("&")
                index += 1
                continue
            }
            var bits: UInt32 = 0
            var bitCount = 0
            var bytes = [UInt8]()
            while index < input.count && input[index] != UInt8(ascii: "-") {
                let value = reverse[Int(input[index])]
                guard value >= 0 else { return nil }
                bits = bits << 6 | UInt32(value)
                bitCount += 6
                if bitCount >= 8 {
                    bitCount -= 8
                    bytes.append(UInt8((bits >> UInt32(bitCount)) & 0xFF))
                }
                index += 1
            }
            guard index < input.count else { return nil }  // unterminated
            index += 1
            // Leftover bits must be zero padding and the run must hold whole UTF-16 units.
            guard !bytes.isEmpty, bytes.count % 2 == 0, bitCount < 6, bits & ((1 << UInt32(bitCount)) - 1) == 0 else {
                return nil
            }
            var units = [UInt16]()
            for pair in stride(from: 0, to: bytes.count, by: 2) {
                units.append(UInt16(bytes[pair]) << 8 | UInt16(bytes[pair + 1]))
            }
            var decoded = ""
            var iterator = units.makeIterator()
            var codec = UTF16()
            decoding: while true {
                switch codec.decode(&iterator) {
                case .scalarValue(let scalar):
                    // Printable ASCII must not be base64-encoded.
                    if scalar.value >= 0x20 && scalar.value <= 0x7E { return nil }
                    decoded.unicodeScalars.append(scalar)
                case .emptyInput: break decoding
                case .error: return nil
                }
            }
            result += decoded
        }
        return result
    }
}
