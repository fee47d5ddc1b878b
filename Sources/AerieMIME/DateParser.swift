/// RFC 5322 §3.3 date-time parser incl. §4.3 obsolete forms (2/3-digit years, named and military zones, comments,
/// missing seconds), as used for SENTBEFORE/SENTON/SENTSINCE (RFC 9051 §6.4.4) and SORT DATE.
enum DateParser {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let zones: [String: Int] = [
        "ut": 0, "gmt": 0, "utc": 0, "z": 0, "est": -300, "edt": -240, "cst": -360, "cdt": -300,
        "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    ]

    /// Unix seconds (UTC) or nil.
    static func parse(_ value: [UInt8]) -> Int64? {
        parseWithZone(value).map { $0.utc }
    }

    /// The instant (Unix seconds, UTC) and the zone offset it was written in, in minutes east of UTC.
    static func parseWithZone(_ value: [UInt8]) -> (utc: Int64, offsetMinutes: Int)? {
        var tokens = tokenize(value)
        if let first = tokens.first, first.count >= 3, first.first!.isLetter, first.last == "," || first.count == 3,
            Int(first) == nil, monthIndex(first) == nil
        {
            tokens.removeFirst()  // day-of-week
        }
        tokens = tokens.map { $0.hasSuffix(",") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
        guard tokens.count >= 4 else { return nil }
        var day: Int?, month: Int?, idx = 0
        if let d = Int(tokens[0]), let m = monthIndex(tokens[1]) {
            day = d; month = m; idx = 2
        } else if let m = monthIndex(tokens[0]), let d = Int(tokens[1]) {
            day = d; month = m; idx = 2
        }
        guard let day, let month, (1...31).contains(day), idx < tokens.count, var year = Int(tokens[idx]) else {
            return nil
        }
        idx += 1
        let ylen = tokens[idx - 1].count
        if ylen <= 2 { year += year < 50 ? 2000 : 1900 } else if ylen == 3 { year += 1900 }
        // A day the month does not have (30 Feb) is no date, as in Dovecot, rather than one in the next month.
        guard (1000...9999).contains(year), day <= daysIn(month: month + 1, year: year), idx < tokens.count else {
            return nil
        }
        let hms = tokens[idx].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        idx += 1
        guard hms.count >= 2, hms.count <= 3, let h = hms[0], let mi = hms[1], (0...23).contains(h), (0...59).contains(mi)
        else { return nil }
        var s = hms.count == 3 ? (hms[2] ?? -1) : 0
        guard (0...60).contains(s) else { return nil }
        s = min(s, 59)  // a leap second counts as the second before it
        var offsetMinutes = 0
        if idx < tokens.count {
            let z = tokens[idx]
            if let sign = z.first, sign == "+" || sign == "-", z.count == 5, let v = Int(z.dropFirst()) {
                offsetMinutes = (v / 100) * 60 + v % 100
                if sign == "-" { offsetMinutes = -offsetMinutes }
            } else if let m = zones[z.lowercased()] {
                offsetMinutes = m
            }
        }
        let days = daysFromCivil(year, month + 1, day)
        let utc = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offsetMinutes * 60)
        return (utc, offsetMinutes)
    }

    private static func monthIndex(_ s: String) -> Int? {
        let l = s.lowercased()
        guard l.count >= 3 else { return nil }
        return months.firstIndex(of: String(l.prefix(3)))
    }

    /// Splits on whitespace and drops comments; "Jul-2003" style is not RFC 5322 and is not supported.
    private static func tokenize(_ value: [UInt8]) -> [String] {
        var out = [String](), cur = [UInt8](), depth = 0
        for c in value {
            if c == UInt8(ascii: "(") { depth += 1; continue }
            if c == UInt8(ascii: ")") { depth = max(0, depth - 1); continue }
            if depth > 0 { continue }
            if c == ASCII.sp || c == ASCII.tab || c == ASCII.cr || c == ASCII.lf {
                if !cur.isEmpty { out.append(ASCII.string(cur)); cur.removeAll() }
            } else {
                cur.append(c)
            }
            if out.count > 16 { break }
        }
        if !cur.isEmpty { out.append(ASCII.string(cur)) }
        return out
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
