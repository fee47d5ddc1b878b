import Testing

@testable import IMAPProtocol

@Suite("SEARCH / SORT / THREAD")
struct SearchTests {
    static func search(_ key: SearchKey, uid: Bool = false, charset: String? = nil, returning: [SearchReturnOption] = []) -> IMAPCommandKind {
        .search(SearchCommand(uid: uid, charset: charset, returnOptions: returning, key: key))
    }

    static func day(_ y: Int, _ m: Int, _ d: Int) -> IMAPDate { IMAPDate(year: y, month: m, day: d)! }

    static let successes: [(String, IMAPCommandKind)] = [
        ("a SEARCH ALL", search(.all)),
        ("a search unseen", search(.unseen)),
        ("a UID SEARCH 1:*", search(.sequenceNumbers(.all), uid: true)),
        ("a SEARCH $", search(.sequenceNumbers(.searchResult))),
        ("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", search(.and([.flagged, .since(day(1994, 2, 1)), .not(.from("Smith"))]))),
        ("a SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX", search(.text("XXXXXX"), charset: "UTF-8")),
        ("a SEARCH CHARSET \"utf-8\" SUBJECT \"ünï\"", search(.subject("ünï"), charset: "UTF-8")),
        ("a SEARCH OR SEEN (ANSWERED DELETED)", search(.or(.seen, .and([.answered, .deleted])))),
        ("a SEARCH (OR SEEN DRAFT)", search(.or(.seen, .draft))),
        ("a SEARCH ((ALL))", search(.all)),
        ("a SEARCH NOT NOT NEW", search(.not(.not(.new)))),
        ("a SEARCH OLD RECENT UNDRAFT UNFLAGGED UNANSWERED UNDELETED", search(.and([.old, .recent, .undraft, .unflagged, .unanswered, .undeleted]))),
        ("a SEARCH KEYWORD $Junk UNKEYWORD foo", search(.and([.keyword("$Junk"), .unkeyword("foo")]))),
        ("a SEARCH BCC a CC b TO c BODY d", search(.and([.bcc("a"), .cc("b"), .to("c"), .body("d")]))),
        ("a SEARCH HEADER Message-ID \"<x@y>\"", search(.header(name: "Message-ID", value: "<x@y>"))),
        ("a SEARCH HEADER X-Spam \"\"", search(.header(name: "X-Spam", value: ""))),
        ("a SEARCH LARGER 100 SMALLER 9223372036854775807", search(.and([.larger(100), .smaller(9_223_372_036_854_775_807)]))),
        (
            "a SEARCH BEFORE 1-Jan-2000 ON \"2-Jan-2000\" SENTBEFORE 3-jan-2000 SENTON 4-Jan-2000 SENTSINCE 5-Jan-2000",
            search(.and([.before(day(2000, 1, 1)), .on(day(2000, 1, 2)), .sentBefore(day(2000, 1, 3)), .sentOn(day(2000, 1, 4)), .sentSince(day(2000, 1, 5))]))
        ),
        (
            "a SEARCH SAVEDBEFORE 1-Jan-2000 SAVEDON 2-Jan-2000 SAVEDSINCE 3-Jan-2000 SAVEDATESUPPORTED",
            search(.and([.savedBefore(day(2000, 1, 1)), .savedOn(day(2000, 1, 2)), .savedSince(day(2000, 1, 3)), .saveDateSupported]))
        ),
        ("a SEARCH OLDER 3600 YOUNGER 60", search(.and([.older(seconds: 3600), .younger(seconds: 60)]))),
        ("a SEARCH UID 1:5,9 2,4", search(.and([.uid(SequenceSet(numbers: [1, 2, 3, 4, 5, 9])), .sequenceNumbers(SequenceSet(numbers: [2, 4]))]))),
        ("a SEARCH MODSEQ 620162338", search(.modSeq(620_162_338, entry: nil))),
        ("a SEARCH MODSEQ 0", search(.modSeq(0, entry: nil))),
        (
            "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
            search(.modSeq(620_162_338, entry: ModSeqEntry(name: "/flags/\\draft", type: .all)))
        ),
        ("a SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9", search(.and([.emailID("M6d99ac3275bb4e"), .threadID("T64b478a75b7ea9")]))),
        ("a SEARCH RETURN (MIN COUNT) FLAGGED", search(.flagged, returning: [.min, .count])),
        ("a SEARCH RETURN () FLAGGED", search(.flagged, returning: [.all])),
        ("a UID SEARCH RETURN (SAVE min MIN) CHARSET US-ASCII ALL", search(.all, uid: true, charset: "US-ASCII", returning: [.save, .min])),
        ("a SEARCH RETURN (ALL MAX) $", search(.sequenceNumbers(.searchResult), returning: [.all, .max])),
        // RFC 5267 §4: UPDATE, CONTEXT and PARTIAL (whose bounds come in either order, as Dovecot takes them).
        ("a SEARCH RETURN (UPDATE) SEEN", search(.seen, returning: [.update])),
        ("a SEARCH RETURN (update ALL) SEEN", search(.seen, returning: [.update, .all])),
        ("a SEARCH RETURN (CONTEXT) SEEN", search(.seen, returning: [.context, .all])),
        (
            "a UID SEARCH RETURN (PARTIAL 4:2 COUNT) ALL",
            .search(
                SearchCommand(
                    uid: true, returnOptions: [.partial, .count], partial: SearchPartialRange(2, 4), key: .all))
        ),
        (
            "a SEARCH RETURN (MIN PARTIAL 1:4294967295) ALL",
            .search(
                SearchCommand(
                    uid: false, returnOptions: [.min, .partial], partial: SearchPartialRange(1, .max), key: .all))
        ),
        (
            "a SORT (REVERSE DATE SUBJECT) UTF-8 ALL",
            .sort(uid: false, criteria: [SortCriterion(.date, reverse: true), SortCriterion(.subject)], charset: "UTF-8", key: .all, returnOptions: [])
        ),
        (
            "a UID SORT (ARRIVAL CC FROM SIZE TO DISPLAYFROM DISPLAYTO) us-ascii SINCE 1-Feb-1994 UNSEEN",
            .sort(
                uid: true, criteria: [.arrival, .cc, .from, .size, .to, .displayFrom, .displayTo].map { SortCriterion($0) },
                charset: "US-ASCII", key: .and([.since(day(1994, 2, 1)), .unseen]), returnOptions: []
            )
        ),
        (
            "a SORT RETURN (COUNT) (SIZE) UTF-8 ALL",
            .sort(uid: false, criteria: [SortCriterion(.size)], charset: "UTF-8", key: .all, returnOptions: [.count])
        ),
        // RFC 5267 §3.3's example: an empty RETURN list means ALL.
        (
            "a UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
            .sort(
                uid: true, criteria: [SortCriterion(.date, reverse: true)], charset: "UTF-8",
                key: .and([.undeleted, .unkeyword("$Junk")]), returnOptions: [.all])
        ),
        (
            "a SORT RETURN (min MAX save) (DATE) UTF-8 ALL",
            .sort(
                uid: false, criteria: [SortCriterion(.date)], charset: "UTF-8", key: .all,
                returnOptions: [.min, .max, .save])
        ),
        ("a THREAD REFERENCES UTF-8 ALL", .thread(uid: false, algorithm: "REFERENCES", charset: "UTF-8", key: .all)),
        ("a UID THREAD orderedsubject UTF-8 SINCE 5-MAR-2000", .thread(uid: true, algorithm: "ORDEREDSUBJECT", charset: "UTF-8", key: .since(day(2000, 3, 5)))),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a SEARCH", "Missing SEARCH key"),
        ("a SEARCH ", "Missing SEARCH key"),
        ("a SEARCH ALL ", "Trailing space"),
        ("a SEARCH FOO", "Unknown SEARCH key FOO"),
        ("a SEARCH " + String(repeating: "X", count: 40), "Unknown SEARCH key"),
        ("a SEARCH FROM", "Missing SEARCH argument"),
        ("a SEARCH FROM ", "Missing SEARCH argument"),
        ("a SEARCH SINCE 1-Foo-2000", "Invalid date"),
        ("a SEARCH SINCE 30-Feb-2000", "Invalid date"),
        ("a SEARCH LARGER x", "Invalid number"),
        ("a SEARCH LARGER 9223372036854775808", "Invalid number"),
        ("a SEARCH OLDER 0", "Invalid number"),
        ("a SEARCH UID x", "Invalid sequence set"),
        ("a SEARCH 1:x", "Invalid sequence set"),
        ("a SEARCH 0", "Invalid sequence set"),
        ("a SEARCH OR SEEN", "Missing SEARCH argument"),
        ("a SEARCH NOT", "Missing SEARCH argument"),
        ("a SEARCH (SEEN", "Missing ')'"),
        ("a SEARCH ()", "Invalid characters in SEARCH key"),
        ("a SEARCH SEEN)", "Expected space"),
        ("a SEARCH HEADER \"\" x", "Invalid header field name"),
        ("a SEARCH KEYWORD \\Seen", "Invalid characters in keyword"),
        ("a SEARCH MODSEQ x", "Invalid mod-sequence"),
        ("a SEARCH MODSEQ \"/flags/x\" bogus 5", "Invalid MODSEQ entry"),
        ("a SEARCH MODSEQ \"x\" all 5", "Invalid MODSEQ entry"),
        ("a SEARCH EMAILID (x)", "Invalid object ID"),
        ("a SEARCH CHARSET", "Unknown SEARCH key CHARSET"),
        ("a SEARCH CHARSET UTF-8", "Missing SEARCH key"),
        ("a SEARCH RETURN (FOO) ALL", "Unknown SEARCH return option FOO"),
        ("a SEARCH RETURN (MIN)", "Missing SEARCH key"),
        ("a SEARCH RETURN MIN ALL", "Missing RETURN options"),
        ("a SEARCH RETURN (PARTIAL 1) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL 1:*) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL *:1) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL 0:3) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL 1:4294967296) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL", "PARTIAL range broken"),
        ("a SEARCH RETURN (PARTIAL 1:2 ALL) ALL", "PARTIAL conflicts with ALL"),
        ("a CANCELUPDATE", "Missing search tag"),
        ("a CANCELUPDATE ", "Missing search tag"),
        ("a CANCELUPDATE tag", "Expected string for tag"),
        ("a CANCELUPDATE \"t1\" ", "Trailing space"),
        ("a SORT RETURN (UPDATE) (DATE) UTF-8 ALL", "Unknown SEARCH return option UPDATE"),
        ("a SORT RETURN (PARTIAL 1:2) (DATE) UTF-8 ALL", "Unknown SEARCH return option PARTIAL"),
        ("a SORT", "Missing SORT criteria"),
        ("a SORT () UTF-8 ALL", "Missing SORT criteria"),
        ("a SORT (FOO) UTF-8 ALL", "Unknown SORT criterion FOO"),
        ("a SORT (REVERSE) UTF-8 ALL", "Missing SORT criteria"),
        ("a SORT (DATE)", "Missing charset"),
        ("a SORT (DATE) UTF-8", "Missing SEARCH key"),
        // CONTEXT=SORT (RFC 5267 §4) is not offered.
        ("a SORT RETURN (CONTEXT) (DATE) UTF-8 ALL", "Unknown SEARCH return option CONTEXT"),
        ("a SORT RETURN MIN (DATE) UTF-8 ALL", "Missing RETURN options"),
        ("a THREAD", "Missing THREAD algorithm"),
        ("a THREAD REFERENCES", "Missing charset"),
        ("a THREAD REFERENCES UTF-8", "Missing SEARCH key"),
        ("a UID", "Missing UID command"),
        ("a UID FOO 1", "Unknown UID command FOO"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func cancelUpdateTakesOneOrMoreTags() throws {
        #expect(try parse("a CANCELUPDATE \"t1\"").kind == .cancelUpdate(["t1"]))
        #expect(try parse("a cancelupdate \"t1\" {2}\r\nt2").kind == .cancelUpdate(["t1", "t2"]))
        let many = String(repeating: " \"t\"", count: 101)
        #expect(parseError("a CANCELUPDATE" + many)?.message == "Too many search tags")
    }

    @Test func partialRangeCoversResultPositions() {
        let results: [UInt32] = [1, 2, 4, 5]
        #expect(SearchPartialRange(2, 3).slice(results) == [2, 4])
        #expect(SearchPartialRange(2, 10).slice(results) == [2, 4, 5])
        #expect(SearchPartialRange(5, 6).slice(results).isEmpty)
        #expect(SearchPartialRange(1, .max).slice(results) == [1, 2, 4, 5])
    }

    @Test func nestingAtTheCapParses() throws {
        let depth = SearchKey.maximumDepth
        let parens = String(repeating: "(", count: depth) + "ALL" + String(repeating: ")", count: depth)
        #expect(try parse("a SEARCH " + parens).kind == Self.search(.all))
        let nots = String(repeating: "NOT ", count: depth) + "ALL"
        #expect(throws: Never.self) { try parse("a SEARCH " + nots) }
        #expect(parseError("a SEARCH NOT " + nots)?.message == "SEARCH nested too deep")
        #expect(parseError("a SEARCH (" + parens + ")")?.message == "SEARCH nested too deep")
    }
}
