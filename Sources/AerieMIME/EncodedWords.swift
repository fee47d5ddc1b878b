/// RFC 2047 §2–§6 encoded-word decoding for header text ("=?charset?B|Q?text?="), lenient like Dovecot's
/// message-header-decode.c: whitespace between adjacent encoded words is dropped, unknown charsets keep the word.
enum EncodedWords {
    static func decode(_ value: [UInt8]) -> String {
        var result = ""
        var i = 0
        var plainStart = 0
        var lastWasEncoded = false
        let n = value.count
        while i < n {
            if value[i] == UInt8(ascii: "="), i + 1 < n, value[i + 1] == UInt8(ascii: "?"),
                let (text, end) = decodeWord(value, at: i)
            {
                let between = value[plainStart..<i]
                if !(lastWasEncoded && between.allSatisfy({ ASCII.isLWSP($0) || $0 == ASCII.cr || $0 == ASCII.lf })) {
                    result += Charsets.text(Array(between))
                }
                result += text
                i = end
                plainStart = end
                lastWasEncoded = true
                continue
            }
            if !(ASCII.isLWSP(value[i]) || value[i] == ASCII.cr || value[i] == ASCII.lf) { lastWasEncoded = false }
            i += 1
        }
        result += Charsets.text(Array(value[plainStart..<n]))
        return result
    }

    /// Decodes one encoded word at `start`; returns its text and the offset after "?=".
    private static func decodeWord(_ v: [UInt8], at start: Int) -> (String, Int)? {
        var p = start + 2
        let csStart = p
        while p < v.count, v[p] != UInt8(ascii: "?") {
            if v[p] <= 32 || v[p] >= 127 { return nil }
            p += 1
        }
        guard p + 2 < v.count, p > csStart, v[p + 2] == UInt8(ascii: "?") else { return nil }
        let charset = ASCII.string(v[csStart..<p])
        let enc = ASCII.lower(v[p + 1])
        guard enc == UInt8(ascii: "b") || enc == UInt8(ascii: "q") else { return nil }
        let textStart = p + 3
        var q = textStart
        while q + 1 < v.count, !(v[q] == UInt8(ascii: "?") && v[q + 1] == UInt8(ascii: "=")) {
            if v[q] == ASCII.cr || v[q] == ASCII.lf { return nil }
            q += 1
        }
        guard q + 1 < v.count else { return nil }
        let payload = v[textStart..<q]
        let raw = enc == UInt8(ascii: "b")
            ? TransferDecoding.base64(payload) : TransferDecoding.quotedPrintable(payload, underscoreIsSpace: true)
        guard let text = Charsets.decode(raw, charset: charset) else { return nil }
        return (text, q + 2)
    }
}
