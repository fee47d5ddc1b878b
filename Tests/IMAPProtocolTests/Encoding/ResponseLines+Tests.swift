import AerieTestSupport
import NIOCore
import Testing

@testable import IMAPProtocol

@Suite("Response builders")
struct ResponseLinesTests {
    @Test func fetchResponse() {
        var builder = FetchResponseBuilder(sequenceNumber: 12)
        builder.uid(5)
        builder.flags([.seen, .keyword("$Junk")])
        builder.rfc822Size(123)
        builder.modSeq(77)
        builder.internalDate(secondsSince1970: 760_686_745, zoneOffsetMinutes: -480)
        builder.literal("BODY[]", bytes("Hi\r\n"))
        #expect(builder.bytes == bytes(
            "* 12 FETCH (UID 5 FLAGS (\\Seen $Junk) RFC822.SIZE 123 MODSEQ (77) INTERNALDATE \"07-Feb-1994 21:52:25 -0800\" BODY[] {4}\r\nHi\r\n)\r\n"
        ))
        var other = FetchResponseBuilder(sequenceNumber: 1)
        other.binary("BINARY[1]", [0x61, 0, 0x62])
        other.binary("BINARY[2]", bytes("ab"))
        other.literal("BODY[TEXT]", [0x61, 0])
        other.nstring("X", nil)
        other.objectID("EMAILID", "M1")
        other.objectID("THREADID", nil)
        other.saveDate(secondsSince1970: nil)
        #expect(other.bytes == [UInt8]("* 1 FETCH (BINARY[1] ~{3}\r\na".utf8) + [0] + bytes("b BINARY[2] {2}\r\nab BODY[TEXT] {2}\r\na  X NIL EMAILID (M1) THREADID NIL SAVEDATE NIL)\r\n"))
        var buffer = ByteBufferShim()
        builder.encode(into: &buffer.buffer)
        #expect(buffer.bytes == builder.bytes)
    }

    @Test func lists() {
        #expect(IMAPResponseLine.list(attributes: ["\\HasNoChildren"], delimiter: "/", mailbox: "INBOX", utf8Enabled: false)
            == "LIST (\\HasNoChildren) \"/\" INBOX")
        #expect(IMAPResponseLine.list(attributes: ["\\Sent", "\\HasNoChildren"], delimiter: ".", mailbox: "Gesendete Objekte", utf8Enabled: false)
            == "LIST (\\Sent \\HasNoChildren) \".\" \"Gesendete Objekte\"")
        #expect(IMAPResponseLine.list(attributes: [], delimiter: nil, mailbox: "Entwürfe", utf8Enabled: false) == "LIST () NIL Entw&APw-rfe")
        #expect(IMAPResponseLine.list(attributes: [], delimiter: "\\", mailbox: "Entwürfe", utf8Enabled: true) == "LIST () \"\\\\\" \"Entwürfe\"")
        #expect(IMAPResponseLine.list(attributes: ["\\NonExistent"], delimiter: "/", mailbox: "Foo", utf8Enabled: false, childInfoSubscribed: true)
            == "LIST (\\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))")
        #expect(IMAPResponseLine.list(attributes: [], delimiter: "/", mailbox: "New", utf8Enabled: false, oldName: "Old Name")
            == "LIST () \"/\" New (\"OLDNAME\" (\"Old Name\"))")
        #expect(IMAPResponseLine.list(attributes: ["\\X\r\n"], delimiter: "/", mailbox: "a", utf8Enabled: false) == "LIST (\\X) \"/\" a")
        #expect(IMAPResponseLine.lsub(attributes: [], delimiter: "/", mailbox: "a", utf8Enabled: false) == "LSUB () \"/\" a")
    }

    @Test func statusSearchAndFriends() {
        #expect(IMAPResponseLine.status(mailbox: "blurdybloop", utf8Enabled: false, values: [(.messages, 231), (.uidNext, 44292)])
            == "STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)")
        #expect(IMAPResponseLine.status(mailbox: "a b", utf8Enabled: false, values: [], mailboxID: "F1") == "STATUS \"a b\" (MAILBOXID (F1))")
        #expect(IMAPResponseLine.search([2, 3, 6]) == "SEARCH 2 3 6")
        #expect(IMAPResponseLine.search([]) == "SEARCH")
        #expect(IMAPResponseLine.search([1], highestModSeq: 9) == "SEARCH 1 (MODSEQ 9)")
        #expect(IMAPResponseLine.sort([5, 1]) == "SORT 5 1")
        #expect(IMAPResponseLine.esearch(tag: tag("A282"), uid: false, min: 2, count: 3) == "ESEARCH (TAG \"A282\") MIN 2 COUNT 3")
        #expect(IMAPResponseLine.esearch(tag: tag("a"), uid: true, all: [1, 2, 3, 5, 9, 10], modSeq: 7) == "ESEARCH (TAG \"a\") UID ALL 1:3,5,9:10 MODSEQ 7")
        #expect(IMAPResponseLine.esearch(tag: nil, uid: true, count: 0, all: []) == "ESEARCH UID COUNT 0")
        #expect(IMAPResponseLine.flags([.answered, .flagged]) == "FLAGS (\\Answered \\Flagged)")
        #expect(IMAPResponseLine.vanished([1, 2, 3, 7], earlier: true) == "VANISHED (EARLIER) 1:3,7")
        #expect(IMAPResponseLine.vanished([4], earlier: false) == "VANISHED 4")
        #expect(IMAPResponseLine.exists(5) == "5 EXISTS")
        #expect(IMAPResponseLine.expunge(3) == "3 EXPUNGE")
        #expect(IMAPResponseLine.enabled(["CONDSTORE", "UTF8=ACCEPT"]) == "ENABLED CONDSTORE UTF8=ACCEPT")
    }

    @Test func responseCodes() {
        #expect(IMAPResponseCode.copyUID(uidValidity: 38505, source: [304, 319, 320], destination: [3956, 3957, 3958]).text
            == "COPYUID 38505 304,319:320 3956:3958")
        #expect(IMAPResponseCode.appendUID(uidValidity: 38505, uids: [3955]).text == "APPENDUID 38505 3955")
        #expect(IMAPResponseCode.permanentFlags([.seen, .wildcard]).text == "PERMANENTFLAGS (\\Seen \\*)")
        #expect(IMAPResponseCode.modified([7, 9]).text == "MODIFIED 7,9")
        #expect(IMAPResponseCode.badCharset(["UTF-8", "US-ASCII"]).text == "BADCHARSET (UTF-8 US-ASCII)")
        #expect(IMAPResponse.tagged(tag("a"), .ok, .readWrite, "Select completed.").bytes == bytes("a OK [READ-WRITE] Select completed.\r\n"))
    }

    @Test func compactSequenceSets() {
        #expect(IMAPEncoding.sequenceSet([1, 2, 3, 5, 7, 8]) == "1:3,5,7:8")
        #expect(IMAPEncoding.sequenceSet([]) == "")
        #expect(IMAPEncoding.sequenceSet([9, 3, 4]) == "9,3:4")  // order kept for COPYUID pairing
        #expect(IMAPEncoding.sequenceSet([UInt32.max - 1, UInt32.max]) == "4294967294:4294967295")
        #expect(IMAPEncoding.sequenceSet([UInt32.max, 1]) == "4294967295,1")
    }

    /// Encode a sorted set compactly, parse it back: the same numbers.
    @Test func sequenceSetRoundTrip() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<200 {
            let numbers = Set((0..<Int.random(in: 1...50, using: &random)).map { _ in UInt32.random(in: 1...200, using: &random) }).sorted()
            let text = IMAPEncoding.sequenceSet(numbers)
            var cursor = ByteCursor(bytes(text))
            let parsed = try cursor.parseSequenceSet()
            #expect(parsed.expanded(max: 200, limit: 1000) == numbers)
            #expect(parsed.description == text)
            #expect(SequenceSet(numbers: numbers).encoded == text)
        }
    }

    /// A FETCH response written by the builder is one untagged response: a client-side read of its
    /// literal gives back the data, whatever it contains.
    @Test func fetchLiteralRoundTrip() {
        let data = bytes("Subject: x\r\n\r\n{5}\r\n) * OK\r\n")
        var builder = FetchResponseBuilder(sequenceNumber: 1)
        builder.literal("BODY[]", data)
        let wire = builder.bytes
        let prefix = bytes("* 1 FETCH (BODY[] {\(data.count)}\r\n")
        #expect(Array(wire.prefix(prefix.count)) == prefix)
        #expect(Array(wire[prefix.count..<(prefix.count + data.count)]) == data)
        #expect(Array(wire.suffix(3)) == bytes(")\r\n"))
    }
}

/// A ByteBuffer to encode into, read back as bytes.
struct ByteBufferShim {
    var buffer = ByteBuffer()
    var bytes: [UInt8] { Array(buffer.readableBytesView) }
}
