/// Parsers for Dovecot's value syntaxes (size, time, boolean, unsigned integer); each returns nil plus a hint on failure.
enum ValueParser {
    /// "unlimited" in Dovecot's uint and size types.
    static let unlimited: UInt64 = UInt64(UInt32.max)

    static func bool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "yes": return true
        case "no": return false
        default: return nil
        }
    }

    /// Plain decimal unsigned integer, or `unlimited`.
    static func uint(_ s: String, max: UInt64 = UInt64(UInt32.max)) -> UInt64? {
        if s.lowercased() == "unlimited" { return max }
        guard !s.isEmpty, s.count <= 20, s.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt64(s), v <= max else { return nil }
        return v
    }

    /// Octal when prefixed with 0 (file modes), decimal otherwise.
    static func octal(_ s: String) -> UInt64? {
        guard !s.isEmpty, s.count <= 12, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if s.hasPrefix("0") { return UInt64(s, radix: 8) }
        return UInt64(s)
    }

    /// `10M`, `64k`, `1 G`, `512KiB`, plain bytes; base 2 as in Dovecot.
    static func size(_ raw: String) -> UInt64? {
        let s = raw.trimmingSpaces().lowercased()
        if s == "unlimited" { return UInt64.max }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 19, let n = UInt64(digits) else { return nil }
        var unit = s.dropFirst(digits.count).trimmingSpacesSub()
        if unit.hasSuffix("ib") { unit = String(unit.dropLast(2)) } else if unit.hasSuffix("i") { unit = String(unit.dropLast()) }
        let mult: UInt64
        switch unit {
        case "", "b": mult = 1
        case "k", "kb": mult = 1 << 10
        case "m", "mb": mult = 1 << 20
        case "g", "gb": mult = 1 << 30
        case "t", "tb": mult = 1 << 40
        default: return nil
        }
        let (r, overflow) = n.multipliedReportingOverflow(by: mult)
        return overflow ? nil : r
    }

    /// `2 secs`, `1 hour`, `10 mins`, `500 ms`, `1 day`, `2s`, bare number = seconds; `infinite` allowed.
    /// Units may be abbreviated to any prefix of the word as in Dovecot, except bare `m` (ambiguous).
    static func duration(_ raw: String, allowMilliseconds: Bool = true) -> Duration? {
        let s = raw.trimmingSpaces().lowercased()
        if s == "infinite" { return .seconds(Int64(UInt32.max)) }
        var total: Duration = .zero
        var rest = Substring(s)
        var sawAny = false
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let n = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count).drop { $0 == " " || $0 == "\t" }
            let word = String(rest.prefix { $0.isLetter })
            rest = rest.dropFirst(word.count)
            guard let unit = unitSeconds(word, allowMilliseconds: allowMilliseconds) else { return nil }
            switch unit {
            case .millis: total += .milliseconds(n)
            case .seconds(let mult): total += .seconds(n * mult)
            }
            sawAny = true
        }
        return sawAny ? total : nil
    }

    private enum Unit { case millis, seconds(Int64) }

    private static func unitSeconds(_ w: String, allowMilliseconds: Bool) -> Unit? {
        if w.isEmpty { return .seconds(1) }
        let table: [(String, Unit)] = [
            ("seconds", .seconds(1)), ("secs", .seconds(1)),
            ("minutes", .seconds(60)), ("mins", .seconds(60)),
            ("hours", .seconds(3600)), ("days", .seconds(86_400)), ("weeks", .seconds(604_800)),
        ]
        let msWords = ["milliseconds", "millisecs", "mseconds", "msecs"]
        if allowMilliseconds, w.hasPrefix("ms") || w.hasPrefix("mil"), msWords.contains(where: { $0.hasPrefix(w) }) {
            return .millis
        }
        if w == "m" { return nil }  // ambiguous between minutes and milliseconds, as Dovecot documents
        for (word, unit) in table where word.hasPrefix(w) { return unit }
        return nil
    }

    /// Formats a duration the way doveconf prints it (largest exact unit).
    static func format(_ d: Duration) -> String {
        let (secs, atto) = d.components
        if atto != 0 || secs == 0 {
            let ms = secs * 1000 + atto / 1_000_000_000_000_000
            return ms == 0 ? "0" : "\(ms) ms"
        }
        if secs == Int64(UInt32.max) { return "infinite" }
        for (unit, n) in [("weeks", Int64(604_800)), ("days", 86_400), ("hours", 3600), ("mins", 60)] where secs % n == 0 {
            return "\(secs / n) \(unit)"
        }
        return "\(secs) secs"
    }

    /// Formats a byte count like doveconf (largest exact unit).
    static func format(size: UInt64) -> String {
        if size == UInt64.max { return "unlimited" }
        if size == 0 { return "0" }
        for (unit, shift) in [("T", UInt64(40)), ("G", 30), ("M", 20), ("k", 10)] where size % (1 << shift) == 0 {
            return "\(size >> shift)\(unit)"
        }
        return "\(size) B"
    }
}

extension StringProtocol {
    /// Trims ASCII spaces and tabs only; Dovecot treats no other characters as whitespace.
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }

    func trimmingSpacesSub() -> String { trimmingSpaces() }
}
