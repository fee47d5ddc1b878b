/// Renders command units for logs without secrets (DESIGN: raw protocol logs never hold a password).
enum Redaction {
    static let hiddenPlaceholder = "<hidden>"
    /// Longest description; the rest is cut to keep log lines bounded.
    static let maximumLength = 1000

    /// `unit` as text with each `hiding` range replaced by `<hidden>`, each literal by its `{N}`
    /// marker, and control characters (and invalid UTF-8) by `?`.
    static func describe(_ unit: [UInt8], hiding: [Range<Int>]) -> String {
        var out: [UInt8] = []
        var index = 0
        while index < unit.count, out.count < maximumLength {
            if let range = hiding.first(where: { $0.lowerBound == index && !$0.isEmpty }) {
                out.append(contentsOf: hiddenPlaceholder.utf8)
                index = range.upperBound
                continue
            }
            // In a framed unit CRLF only follows a literal marker; skip the literal's data.
            if unit[index] == ASCII.cr, index + 1 < unit.count, unit[index + 1] == ASCII.lf,
                let marker = LiteralMarker.atEnd(of: unit[..<index])
            {
                index += 2 + min(marker.size, unit.count - index - 2)
                continue
            }
            let byte = unit[index]
            out.append(byte.isCTL ? 0x3F : byte)
            index += 1
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: String(decoding: out, as: UTF8.self).unicodeScalars.map { $0 == "\u{FFFD}" ? "?" : $0 })
        if index < unit.count { text += "..." }
        return text
    }
}
