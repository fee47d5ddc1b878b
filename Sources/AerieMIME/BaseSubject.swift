/// Sort keys for SORT / THREAD (RFC 5256).
public enum SortKeys {
    /// RFC 5256 §2.1 base subject: encoded words decoded, whitespace collapsed, "Re:", "Fw:", "Fwd:", "[blob]"
    /// leaders, trailing "(fwd)" and "[fwd: …]" wrappers removed. Case is kept; compare case-insensitively.
    public static func baseSubject(_ subject: String) -> String {
        // Step 1: decode RFC 2047 and normalize whitespace.
        let decoded = EncodedWords.decode(Array(subject.utf8))
        var s = [Character]()
        for c in decoded {
            let ws = c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n"
            if ws {
                if s.last != " " { s.append(" ") }
            } else {
                s.append(c)
            }
        }
        var rounds = 0
        while rounds < 1_000 {
            rounds += 1
            // Step 2: trailing "(fwd)" and whitespace.
            while true {
                while s.last == " " { s.removeLast() }
                if s.count >= 5, String(s.suffix(5)).lowercased() == "(fwd)" { s.removeLast(5); continue }
                break
            }
            // Steps 3-5: leading blobs and re/fw/fwd leaders.
            while true {
                while s.first == " " { s.removeFirst() }
                if let n = refwdLength(s) { s.removeFirst(n); continue }
                if let n = blobLength(s, at: 0), n < s.count { s.removeFirst(n); continue }
                break
            }
            // Step 6: "[fwd:" … "]".
            if s.count >= 6, String(s.prefix(5)).lowercased() == "[fwd:", s.last == "]" {
                s = Array(s.dropFirst(5).dropLast())
                continue
            }
            break
        }
        while s.first == " " { s.removeFirst() }
        return String(s)
    }

    /// subj-blob = "[" *BLOBCHAR "]" *WSP; returns its length.
    private static func blobLength(_ s: [Character], at start: Int) -> Int? {
        guard start < s.count, s[start] == "[" else { return nil }
        var i = start + 1
        while i < s.count, s[i] != "]" {
            if s[i] == "[" { return nil }
            i += 1
        }
        guard i < s.count else { return nil }
        i += 1
        while i < s.count, s[i] == " " { i += 1 }
        return i - start
    }

    /// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; returns its length.
    private static func refwdLength(_ s: [Character]) -> Int? {
        let lower = s.prefix(3).map { $0.lowercased() }.joined()
        var i: Int
        if lower.hasPrefix("re") { i = 2 } else if lower.hasPrefix("fwd") { i = 3 } else if lower.hasPrefix("fw") { i = 2 } else {
            return nil
        }
        while i < s.count, s[i] == " " { i += 1 }
        if let n = blobLength(s, at: i) { i += n }
        guard i < s.count, s[i] == ":" else { return nil }
        return i + 1
    }
}
