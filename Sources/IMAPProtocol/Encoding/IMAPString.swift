/// Renders values as IMAP strings in server responses (RFC 9051 §4.3).
public enum IMAPString {
    /// Longest value written as a quoted string; longer ones become literals, bounding escaping work.
    public static let maximumQuotedLength = 1024

    /// RFC 9051 §9: `string = quoted / literal`. Quoted when the value is short 7-bit TEXT-CHARs,
    /// else a literal `{N}` CRLF octets (NUL octets are dropped: CHAR8 excludes them).
    public static func quotedOrLiteral(_ s: String) -> String {
        let bytes = Array(s.utf8)
        if bytes.count <= maximumQuotedLength, bytes.allSatisfy(\.isTextChar) {
            var quoted = "\""
            for scalar in s.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(scalar)
            }
            return quoted + "\""
        }
        let data = bytes.filter { $0 != ASCII.nul }
        return "{\(data.count)}\r\n" + String(decoding: data, as: UTF8.self)
    }

    /// RFC 9051 §9: `nstring = string / nil`.
    public static func nstring(_ s: String?) -> String {
        s.map(quotedOrLiteral) ?? "NIL"
    }
}
