/// A subject reduced for SORT and THREAD (RFC 5256 §2.1).
public struct BaseSubject: Sendable, Equatable {
    /// The base subject: encoded words decoded to UTF-8, whitespace collapsed, leaders and trailers removed.
    public var text: String
    /// RFC 5256 §4 REFERENCES step 5: a subj-refwd, a "(fwd)" trailer or a "[fwd: …]" wrapper was removed.
    public var isReplyOrForward: Bool

    public init(text: String, isReplyOrForward: Bool) {
        self.text = text
        self.isReplyOrForward = isReplyOrForward
    }
}

/// Sort keys for SORT / THREAD (RFC 5256).
public enum SortKeys {
    /// RFC 5256 §2.1 base subject of a Subject value (as a string); case is kept, compare case-insensitively.
    public static func baseSubject(_ subject: String) -> String {
        extractBaseSubject(Array(subject.utf8)).text
    }

    /// RFC 5256 §2.1 base subject of a raw Subject field value: encoded words decoded (RFC 2047), whitespace
    /// collapsed, "Re:", "Fw:", "Fwd:" and "[blob]" leaders, "(fwd)" trailers and "[fwd: …]" wrappers removed.
    /// Linear in the subject's length: only two indices move, nothing is removed from the front of an array.
    public static func extractBaseSubject(_ raw: [UInt8]) -> BaseSubject {
        // Step 1: decode RFC 2047 and turn every run of whitespace (tabs, continuations) into one space.
        var s: [Character] = []
        for c in EncodedWords.decode(raw) {
            if c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n" {
                if s.last != " " { s.append(" ") }
            } else {
                s.append(c)
            }
        }
        var lo = 0
        var hi = s.count
        var replyOrForward = false
        while true {
            // Step 2: trailing subj-trailer ("(fwd)" / WSP), repeatedly.
            while true {
                while hi > lo, s[hi - 1] == " " { hi -= 1 }
                if hi - lo >= 5, matches(s, hi - 5, hi, "(fwd)") {
                    hi -= 5
                    replyOrForward = true
                    continue
                }
                break
            }
            // Steps 3-5: subj-leader (WSP, subj-refwd) and subj-blob prefixes, until none is left.
            while true {
                while lo < hi, s[lo] == " " { lo += 1 }
                if let n = refwdLength(s, lo, hi) {
                    lo += n
                    replyOrForward = true
                    continue
                }
                // Step 4: a blob goes only when something is left after it.
                if let n = blobLength(s, lo, hi), lo + n < hi {
                    lo += n
                    continue
                }
                break
            }
            // Step 6: "[fwd:" subject "]", then again from step 2.
            if hi - lo >= 6, matches(s, lo, hi, "[fwd:"), s[hi - 1] == "]" {
                lo += 5
                hi -= 1
                replyOrForward = true
                continue
            }
            break
        }
        return BaseSubject(text: String(s[lo..<hi]), isReplyOrForward: replyOrForward)
    }

    /// ASCII-case-insensitive match of a lowercase ASCII literal at `start`, inside `..<end`.
    private static func matches(_ s: [Character], _ start: Int, _ end: Int, _ literal: String) -> Bool {
        var i = start
        for expected in literal {
            guard i < end, isASCII(s[i], expected) else { return false }
            i += 1
        }
        return true
    }

    private static func isASCII(_ c: Character, _ lower: Character) -> Bool {
        c == lower || (lower.isLetter && c == Character(lower.uppercased()))
    }

    /// subj-blob = "[" *BLOBCHAR "]" *WSP; returns its length.
    private static func blobLength(_ s: [Character], _ start: Int, _ end: Int) -> Int? {
        guard start < end, s[start] == "[" else { return nil }
        var i = start + 1
        while i < end, s[i] != "]" {
            if s[i] == "[" { return nil }
            i += 1
        }
        guard i < end else { return nil }
        i += 1
        while i < end, s[i] == " " { i += 1 }
        return i - start
    }

    /// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; returns its length.
    private static func refwdLength(_ s: [Character], _ start: Int, _ end: Int) -> Int? {
        var i: Int
        if matches(s, start, end, "re") {
            i = start + 2
        } else if matches(s, start, end, "fw") {
            i = start + 2
            // "fwd:" or "fw:"; "fwd" without a colon after it is not a leader either way.
            if i < end, isASCII(s[i], "d") { i += 1 }
        } else {
            return nil
        }
        while i < end, s[i] == " " { i += 1 }
        if let n = blobLength(s, i, end) { i += n }
        guard i < end, s[i] == ":" else { return nil }
        return i + 1 - start
    }
}
