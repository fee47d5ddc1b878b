import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Dates")
struct IMAPDateTests {
    static func date(_ text: String) throws(ParseFailure) -> IMAPDate {
        var cursor = ByteCursor(bytes(text))
        return try cursor.parseDate()
    }

    static func dateTime(_ text: String) throws(ParseFailure) -> IMAPDateTime {
        var cursor = ByteCursor(bytes(text))
        return try cursor.parseDateTime()
    }

    @Test func dates() throws {
        #expect(try Self.date("1-Feb-1994") == IMAPDate(year: 1994, month: 2, day: 1))
        #expect(try Self.date("01-feb-1994") == IMAPDate(year: 1994, month: 2, day: 1))
        #expect(try Self.date("\"29-FEB-2024\"") == IMAPDate(year: 2024, month: 2, day: 29))
        #expect(try Self.date("1-Jan-1970").secondsSince1970 == 0)
        #expect(try Self.date("2-Jan-1970").secondsSince1970 == 86_400)
        #expect(try Self.date("31-Dec-1969").daysSince1970 == -1)
        #expect(IMAPDate(year: 2024, month: 2, day: 29)?.description == "29-Feb-2024")
    }

    @Test(arguments: ["29-Feb-2023", "32-Jan-2000", "0-Jan-2000", "1-Foo-2000", "1-Jan-99", "1-Jan-20000", "\"1-Jan-2000", "1 Jan 2000", "123-Jan-2000", "1-Jan-2000x", ""])
    func invalidDates(_ input: String) {
        #expect(throws: ParseFailure.syntax("Invalid date")) { try Self.date(input) }
    }

    @Test func dateTimes() throws {
        let value = try Self.dateTime("\" 7-Feb-1994 21:52:25 -0800\"")
        #expect(value.text == " 7-Feb-1994 21:52:25 -0800")
        #expect(value.secondsSince1970 == 760_686_745)
        #expect(value.zoneOffsetMinutes == -480)
        #expect(try Self.dateTime("\"07-Feb-1994 21:52:25 -0800\"").secondsSince1970 == 760_686_745)
        #expect(try Self.dateTime("\"01-Jan-1970 00:00:00 +0000\"").secondsSince1970 == 0)
        #expect(try Self.dateTime("\"01-Jan-1970 01:30:00 +0130\"").secondsSince1970 == 0)
    }

    @Test(arguments: [
        "07-Feb-1994 21:52:25 -0800", "\"07-Feb-1994 21:52:25\"", "\"07-Feb-1994 24:00:00 +0000\"",
        "\"07-Feb-1994 21:60:00 +0000\"", "\"07-Feb-1994 21:52:25 *0800\"", "\"07-Feb-1994 21:52:25 +0860\"",
        "\"07-Feb-1994 21:52:25 +08000\"", "\"7-Feb-1994  21:52:25 +0000\"",
    ])
    func invalidDateTimes(_ input: String) {
        #expect(throws: ParseFailure.syntax("Invalid date-time")) { try Self.dateTime(input) }
    }

    @Test func formatting() {
        #expect(IMAPEncoding.dateTime(secondsSince1970: 760_686_745, zoneOffsetMinutes: -480) == "07-Feb-1994 21:52:25 -0800")
        #expect(IMAPEncoding.dateTime(secondsSince1970: 0) == "01-Jan-1970 00:00:00 +0000")
        #expect(IMAPEncoding.dateTime(secondsSince1970: -1) == "31-Dec-1969 23:59:59 +0000")
        #expect(IMAPEncoding.dateTime(secondsSince1970: -30_610_224_000) == "01-Jan-1000 00:00:00 +0000")
        #expect(IMAPEncoding.dateTime(secondsSince1970: -30_641_760_000) == "01-Jan-0999 00:00:00 +0000")
        #expect(IMAPDate(year: 7, month: 3, day: 1)?.description == "1-Mar-0007")
        #expect(IMAPEncoding.dateTime(secondsSince1970: 1_709_164_800, zoneOffsetMinutes: 90) == "29-Feb-2024 01:30:00 +0130")
    }

    @Test func roundTrip() throws {
        var random = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let seconds = Int64.random(in: -62_000_000_000...250_000_000_000, using: &random)
            let zone = Int.random(in: -720...840, using: &random)
            let text = IMAPEncoding.dateTime(secondsSince1970: seconds, zoneOffsetMinutes: zone)
            let parsed = try Self.dateTime("\"" + text + "\"")
            #expect(parsed.secondsSince1970 == seconds)
            #expect(parsed.zoneOffsetMinutes == zone)
        }
    }
}
