import Testing

@testable import IMAPProtocol

@Suite("FETCH")
struct FetchTests {
    static func fetch(_ set: [UInt32], _ attributes: [FetchAttribute], uid: Bool = false, changedSince: UInt64? = nil, vanished: Bool = false) -> IMAPCommandKind {
        .fetch(FetchCommand(uid: uid, sequence: SequenceSet(numbers: set), attributes: attributes, changedSince: changedSince, vanished: vanished))
    }

    static func body(_ section: FetchSection, peek: Bool = false, _ partial: FetchPartial? = nil) -> FetchAttribute {
        .bodySection(peek: peek, section: section, partial: partial)
    }

    static let successes: [(String, IMAPCommandKind)] = [
        ("a FETCH 1 FLAGS", fetch([1], [.flags])),
        ("a FETCH 1 ALL", fetch([1], FetchAttribute.allMacro)),
        ("a fetch 1 fast", fetch([1], FetchAttribute.fastMacro)),
        ("a FETCH 1 FULL", fetch([1], FetchAttribute.fullMacro)),
        (
            "a FETCH 2:4 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID)",
            fetch([2, 3, 4], [.envelope, .flags, .internalDate, .rfc822, .rfc822Header, .rfc822Size, .rfc822Text, .body, .bodyStructure, .uid])
        ),
        ("a FETCH 1 (MODSEQ EMAILID THREADID SAVEDATE)", fetch([1], [.modSeq, .emailID, .threadID, .saveDate])),
        ("a FETCH 1 BODY[]", fetch([1], [body(.complete)])),
        ("a FETCH 1 body.peek[]<0.1024>", fetch([1], [body(.complete, peek: true, FetchPartial(offset: 0, length: 1024))])),
        ("a FETCH 1 BODY[HEADER]", fetch([1], [body(FetchSection(text: .header))])),
        ("a FETCH 1 BODY[TEXT]", fetch([1], [body(FetchSection(text: .text))])),
        ("a FETCH 1 BODY[1]", fetch([1], [body(FetchSection(part: [1]))])),
        ("a FETCH 1 BODY[4.2.2.1]", fetch([1], [body(FetchSection(part: [4, 2, 2, 1]))])),
        ("a FETCH 1 BODY[3.HEADER]", fetch([1], [body(FetchSection(part: [3], text: .header))])),
        ("a FETCH 1 BODY[4.1.MIME]", fetch([1], [body(FetchSection(part: [4, 1], text: .mime))])),
        ("a FETCH 1 BODY[2.text]", fetch([1], [body(FetchSection(part: [2], text: .text))])),
        (
            "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (DATE FROM \"Subject\")] UID)",
            fetch([1], [body(FetchSection(text: .headerFields(["DATE", "FROM", "Subject"])), peek: true), .uid])
        ),
        ("a FETCH 1 BODY[1.HEADER.FIELDS.NOT (X)]<10.5>", fetch([1], [body(FetchSection(part: [1], text: .headerFieldsNot(["X"])), FetchPartial(offset: 10, length: 5))])),
        ("a FETCH 1 BINARY[]", fetch([1], [.binary(peek: false, part: [], partial: nil)])),
        ("a FETCH 1 BINARY.PEEK[1.2]<0.100>", fetch([1], [.binary(peek: true, part: [1, 2], partial: FetchPartial(offset: 0, length: 100))])),
        ("a FETCH 1 BINARY.SIZE[3]", fetch([1], [.binarySize(part: [3])])),
        ("a UID FETCH 1:3 FLAGS (CHANGEDSINCE 12345)", fetch([1, 2, 3], [.flags], uid: true, changedSince: 12345)),
        ("a UID FETCH 1 FLAGS (CHANGEDSINCE 12345 VANISHED)", fetch([1], [.flags], uid: true, changedSince: 12345, vanished: true)),
        ("a FETCH $ FLAGS", .fetch(FetchCommand(uid: false, sequence: .searchResult, attributes: [.flags]))),
        ("a FETCH 1:* (FLAGS)", .fetch(FetchCommand(uid: false, sequence: .all, attributes: [.flags]))),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a FETCH", "Missing sequence set"),
        ("a FETCH 1", "Missing FETCH attributes"),
        ("a FETCH x FLAGS", "Invalid sequence set"),
        ("a FETCH 1,,2 FLAGS", "Invalid sequence set"),
        ("a FETCH 1 FOO", "Unknown FETCH attribute FOO"),
        ("a FETCH 1 (FLAGS FOO)", "Unknown FETCH attribute FOO"),
        ("a FETCH 1 ()", "Missing FETCH attributes"),
        ("a FETCH 1 (FLAGS", "Missing ')'"),
        ("a FETCH 1 (ALL)", "Unknown FETCH attribute ALL"),
        ("a FETCH 1 FLAGS[]", "Unknown FETCH attribute FLAGS"),
        ("a FETCH 1 BODY[", "Invalid body section"),
        ("a FETCH 1 BODY[FOO]", "Invalid body section"),
        ("a FETCH 1 BODY[MIME]", "Invalid body section"),
        ("a FETCH 1 BODY[0]", "Invalid body section"),
        ("a FETCH 1 BODY[1.]", "Invalid body section"),
        ("a FETCH 1 BODY[HEADER.FIELDS]", "Invalid body section"),
        ("a FETCH 1 BODY[HEADER.FIELDS ()]", "Invalid body section"),
        ("a FETCH 1 BODY[]<0>", "Invalid partial range"),
        ("a FETCH 1 BODY[]<0.0>", "Invalid partial range"),
        ("a FETCH 1 BODY[]<x.1>", "Invalid partial range"),
        ("a FETCH 1 BINARY[TEXT]", "Invalid body section"),
        ("a FETCH 1 BINARY.SIZE", "Invalid body section"),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 0)", "Invalid mod-sequence"),
        ("a FETCH 1 FLAGS (CHANGEDSINCE)", "Invalid mod-sequence"),
        ("a FETCH 1 FLAGS (FOO)", "Unknown FETCH modifier FOO"),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)", "VANISHED needs UID FETCH with CHANGEDSINCE"),
        ("a UID FETCH 1 FLAGS (VANISHED)", "VANISHED needs UID FETCH with CHANGEDSINCE"),
        ("a FETCH 1 FLAGS ", "Trailing space"),
        ("a FETCH 1 FLAGS x", "Missing FETCH modifiers"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func bounds() {
        let hundred = Array(repeating: "FLAGS", count: 100).joined(separator: " ")
        #expect(throws: Never.self) { try parse("a FETCH 1 (\(hundred))") }
        #expect(parseError("a FETCH 1 (\(hundred) UID)")?.message == "Too many FETCH attributes")
        let fields = (0..<1000).map { "F\($0)" }.joined(separator: " ")
        #expect(throws: Never.self) { try parse("a FETCH 1 BODY[HEADER.FIELDS (\(fields))]") }
        #expect(parseError("a FETCH 1 BODY[HEADER.FIELDS (\(fields) X)]")?.message == "Too many header fields")
    }

    @Test func responseNames() {
        #expect(Self.body(FetchSection(part: [1], text: .text), peek: true, FetchPartial(offset: 5, length: 10)).responseName == "BODY[1.TEXT]<5>")
        #expect(Self.body(.complete).responseName == "BODY[]")
        #expect(Self.body(FetchSection(text: .headerFields(["Subject", "X Y"]))).responseName == "BODY[HEADER.FIELDS (SUBJECT \"X Y\")]")
        #expect(FetchAttribute.binary(peek: true, part: [1, 2], partial: nil).responseName == "BINARY[1.2]")
        #expect(FetchAttribute.binarySize(part: []).responseName == "BINARY.SIZE[]")
        #expect(FetchAttribute.rfc822Header.responseName == "RFC822.HEADER")
    }
}
