/// A Dovecot user mask (src/lib/wildcard-match.c, without its escaped variant): `*` matches any run, `?` exactly one
/// character, anything else itself; ASCII letters compared without case when `ignoringCase` (`wildcard_match_icase`).
/// Used by `username_filter` (case-sensitive, as Dovecot's passdb filter) and `aerie adm user MASK` (case-insensitive).
struct WildcardMask: Sendable {
    private let pattern: [Unicode.Scalar]
    private let ignoringCase: Bool

    init(_ mask: some StringProtocol, ignoringCase: Bool = false) {
        self.pattern = Array(mask.unicodeScalars)
        self.ignoringCase = ignoringCase
    }

    /// Greedy scan that falls back to the last `*` on a mismatch: O(text × mask) at worst, both bounded by callers.
    func matches(_ text: some StringProtocol) -> Bool {
        let t = Array(text.unicodeScalars), p = pattern
        var ti = 0, pi = 0, star = -1, resume = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || same(p[pi], t[ti]) {
                ti += 1
                pi += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                resume = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                resume += 1
                ti = resume
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    private func same(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
        a == b || (ignoringCase && a.isASCII && b.isASCII && Self.upper(a) == Self.upper(b))
    }

    private static func upper(_ c: Unicode.Scalar) -> UInt32 {
        (0x61...0x7A).contains(c.value) ? c.value - 0x20 : c.value
    }
}
