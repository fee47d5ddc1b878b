/// A calendar day as SEARCH uses it (RFC 9051 §6.4.4: time and timezone disregarded).
public struct IMAPDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...IMAPDate.daysInMonth(month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Days since 1970-01-01 (proleptic Gregorian), for comparisons with stored times.
    public var daysSince1970: Int64 {
        // Howard Hinnant's days_from_civil.
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Midnight UTC of this day, in seconds since 1970.
    public var secondsSince1970: Int64 { daysSince1970 * 86_400 }

    /// `d-Mon-yyyy`, as `date-text` writes it.
    public var description: String { "\(day)-\(Self.monthNames[month - 1])-\(fourDigitYear)" }

    /// RFC 9051 §9: `date-year = 4DIGIT`.
    var fourDigitYear: String {
        let digits = String(year)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    public static func < (a: IMAPDate, b: IMAPDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    static func daysInMonth(_ month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// An APPEND internal date (RFC 9051 §6.3.12), both as sent and as an instant.
public struct IMAPDateTime: Sendable, Hashable {
    /// The text between the quotes, e.g. ` 7-Feb-1994 21:52:25 -0800`.
    public var text: String
    /// The instant, in seconds since 1970 UTC.
    public var secondsSince1970: Int64
    /// The zone as minutes east of UTC (-0800 gives -480).
    public var zoneOffsetMinutes: Int

    public init(text: String, secondsSince1970: Int64, zoneOffsetMinutes: Int) {
        self.text = text
        self.secondsSince1970 = secondsSince1970
        self.zoneOffsetMinutes = zoneOffsetMinutes
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `date = date-text / DQUOTE date-text DQUOTE`,
    /// `date-text = date-day "-" date-month "-" date-year`, `date-day = 1*2DIGIT`, `date-year = 4DIGIT`.
    mutating func parseDate() throws(ParseFailure) -> IMAPDate {
        try composite { cursor throws(ParseFailure) in
            let quoted = cursor.consume(ASCII.dquote)
            let day = try cursor.parseFixedDigits(min: 1, max: 2)
            try cursor.expect(ASCII.minus, orElse: IMAPParseError.Message.invalidDate)
            let month = try cursor.parseMonth()
            try cursor.expect(ASCII.minus, orElse: IMAPParseError.Message.invalidDate)
            let year = try cursor.parseFixedDigits(min: 4, max: 4)
            if quoted { try cursor.expect(ASCII.dquote, orElse: IMAPParseError.Message.invalidDate) }
            if let next = cursor.peek, next != ASCII.space, next != ASCII.closeParen {
                throw .syntax(IMAPParseError.Message.invalidDate)
            }
            guard let date = IMAPDate(year: year, month: month, day: day) else {
                throw .syntax(IMAPParseError.Message.invalidDate)
            }
            return date
        }
    }

    /// RFC 9051 §9: `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`,
    /// `date-day-fixed = (SP DIGIT) / 2DIGIT`, `time = 2DIGIT ":" 2DIGIT ":" 2DIGIT`,
    /// `zone = ("+" / "-") 4DIGIT`. (A 1-digit day without the SP is accepted too, as Dovecot does.)
    mutating func parseDateTime() throws(ParseFailure) -> IMAPDateTime {
        try composite { cursor throws(ParseFailure) in
            try cursor.expect(ASCII.dquote, orElse: IMAPParseError.Message.invalidDateTime)
            let start = cursor.position
            _ = cursor.consume(ASCII.space)
            let message = IMAPParseError.Message.invalidDateTime
            let day = try cursor.parseFixedDigits(min: 1, max: 2, message: message)
            try cursor.expect(ASCII.minus, orElse: message)
            let month = try cursor.parseMonth(message: message)
            try cursor.expect(ASCII.minus, orElse: message)
            let year = try cursor.parseFixedDigits(min: 4, max: 4, message: message)
            try cursor.expect(ASCII.space, orElse: message)
            let hour = try cursor.parseFixedDigits(min: 2, max: 2, message: message)
            try cursor.expect(0x3A, orElse: message)
            let minute = try cursor.parseFixedDigits(min: 2, max: 2, message: message)
            try cursor.expect(0x3A, orElse: message)
            let second = try cursor.parseFixedDigits(min: 2, max: 2, message: message)
            try cursor.expect(ASCII.space, orElse: message)
            let sign = try cursor.readByte(orElse: message)
            guard sign == ASCII.plus || sign == ASCII.minus else { throw .syntax(message) }
            let zone = try cursor.parseFixedDigits(min: 4, max: 4, message: message)
            let end = cursor.position
            try cursor.expect(ASCII.dquote, orElse: message)
            guard let date = IMAPDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 61,
                zone % 100 < 60
            else { throw .syntax(message) }
            let offset = (zone / 100 * 60 + zone % 100) * (sign == ASCII.minus ? -1 : 1)
            let local = date.secondsSince1970 + Int64(hour * 3600 + minute * 60 + second)
            return IMAPDateTime(
                text: String(decoding: cursor.bytes[start..<end], as: UTF8.self),
                secondsSince1970: local - Int64(offset * 60),
                zoneOffsetMinutes: offset
            )
        }
    }

    private mutating func parseFixedDigits(min: Int, max: Int, message: String = IMAPParseError.Message.invalidDate) throws(ParseFailure) -> Int {
        let digits = try readWhile(limit: max, tooLong: message) { $0.isDigit }
        guard digits.count >= min else { throw isAtEnd ? endOfInput(message) : .syntax(message) }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// RFC 9051 §9: `date-month = "Jan" / "Feb" / … / "Dec"` (case-insensitive).
    private mutating func parseMonth(message: String = IMAPParseError.Message.invalidDate) throws(ParseFailure) -> Int {
        let name = try readBytes(3, orElse: message)
        for (index, month) in IMAPDate.monthNames.enumerated()
        where zip(name, month.utf8).allSatisfy({ $0.asciiUppercased == $1.asciiUppercased }) {
            return index + 1
        }
        throw .syntax(message)
    }
}
