import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Strings")
struct AStringTests {
    static let astrings: [(String, String)] = [
        ("atom", "atom"),
        ("a]b", "a]b"),
        ("\"\"", ""),
        ("\"with space\"", "with space"),
        ("\"q\\\"b\\\\\"", "q\"b\\"),
        ("\"ünïcødé\"", "ünïcødé"),
        ("{3}\r\nabc", "abc"),
        ("{3+}\r\na\r\n", "a\r\n"),
        ("{0}\r\n", ""),
        ("~foo", "~foo"),
        ("~", "~"),
    ]

    @Test(arguments: astrings)
    func astring(_ input: String, _ value: String) throws {
        var cursor = ByteCursor(bytes(input))
        let parsed = try cursor.parseAString()
        #expect(parsed.bytes == bytes(value))
        #expect(cursor.isAtEnd)
    }

    @Test func nstring() throws {
        var nilCursor = ByteCursor(bytes("nil"))
        let none = try nilCursor.parseNString()
        #expect(none == nil)
        var notNil = ByteCursor(bytes("\"NIL\""))
        let some = try notNil.parseNString()
        #expect(some?.bytes == bytes("NIL"))
    }

    @Test func mailboxName() throws {
        for input in ["inbox", "InBox", "\"INBOX\""] {
            var cursor = ByteCursor(bytes(input))
            let name = try cursor.parseMailboxName()
            #expect(name == .inbox)
            #expect(name.isInbox)
        }
        var other = ByteCursor(bytes("\"Sent Items\""))
        let name = try other.parseMailboxName()
        #expect(name == MailboxName("Sent Items"))
        #expect(!name.isInbox)
    }

    @Test func literal8AllowsNULWhereAllowed() throws {
        var cursor = ByteCursor(bytes("~{2}\r\n\0x"))
        let (marker, data) = try cursor.parseLiteral(allowLiteral8: true)
        #expect(marker == LiteralMarker(size: 2, synchronizing: true, isLiteral8: true, length: 4))
        #expect(Array(data) == [0, 0x78])
    }

    @Test func literalMarkers() {
        #expect(LiteralMarker.atEnd(of: bytes("a {12}")[...])?.size == 12)
        #expect(LiteralMarker.atEnd(of: bytes("{12+}")[...])?.synchronizing == false)
        #expect(LiteralMarker.atEnd(of: bytes("~{0}")[...])?.isLiteral8 == true)
        #expect(LiteralMarker.atEnd(of: bytes("{007}")[...])?.size == 7)
        #expect(LiteralMarker.atEnd(of: bytes("{" + String(repeating: "0", count: 40) + "1}")[...])?.size == 1)
        #expect(LiteralMarker.atEnd(of: bytes("{9223372036854775808}")[...])?.size == .max)
        for notMarker in ["{}", "{+}", "{1-}", "1}", "{1", "{1}x", "}", ""] {
            #expect(LiteralMarker.atEnd(of: bytes(notMarker)[...]) == nil)
        }
    }
}
