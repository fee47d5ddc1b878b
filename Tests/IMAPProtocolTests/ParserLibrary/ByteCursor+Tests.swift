import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Parser library")
struct ByteCursorTests {
    /// A toy grammar for nesting: `list = "(" *list ")"`.
    static func parseList(_ cursor: inout ByteCursor) throws(ParseFailure) -> Int {
        try cursor.expect(ASCII.openParen, orElse: "Expected '('")
        return try cursor.nested { cursor throws(ParseFailure) in
            var deepest = 0
            while cursor.peek == ASCII.openParen {
                deepest = try max(deepest, parseList(&cursor))
            }
            try cursor.expect(ASCII.closeParen, orElse: "Missing ')'")
            return deepest + 1
        }
    }

    @Test func nestingIsBounded() throws {
        let depth = NestingTracker.defaultMaximumDepth
        var ok = ByteCursor(bytes(String(repeating: "(", count: depth) + String(repeating: ")", count: depth)))
        let parsedDepth = try Self.parseList(&ok)
        #expect(parsedDepth == depth)
        var deep = ByteCursor(bytes(String(repeating: "(", count: depth + 1) + String(repeating: ")", count: depth + 1)))
        #expect(throws: ParseFailure.syntax("Too deep nesting")) { try Self.parseList(&deep) }
        // 100k opening parentheses fail fast instead of overflowing the stack.
        var hostile = ByteCursor(bytes(String(repeating: "(", count: 100_000)))
        #expect(throws: ParseFailure.syntax("Too deep nesting")) { try Self.parseList(&hostile) }
    }

    @Test func incompleteIsDistinctFromBadSyntax() {
        var streaming = ByteCursor(bytes("(("), isComplete: false)
        #expect(throws: ParseFailure.incomplete) { try Self.parseList(&streaming) }
        var complete = ByteCursor(bytes("(("))
        #expect(throws: ParseFailure.syntax("Missing ')'")) { try Self.parseList(&complete) }
        var wrong = ByteCursor(bytes("(x"), isComplete: false)
        #expect(throws: ParseFailure.syntax("Missing ')'")) { try Self.parseList(&wrong) }

        var quoted = ByteCursor(bytes("\"abc"), isComplete: false)
        #expect(throws: ParseFailure.incomplete) { try quoted.parseQuoted() }
        var literal = ByteCursor(bytes("{5}\r\nab"), isComplete: false)
        #expect(throws: ParseFailure.incomplete) { try literal.parseLiteral() }
    }

    @Test func compositeRestoresPositionAndOptionalYieldsNil() throws {
        var cursor = ByteCursor(bytes("abc"))
        let result = try cursor.optional { cursor throws(ParseFailure) -> UInt8 in
            _ = try cursor.readByte()
            throw .syntax("no")
        }
        #expect(result == nil)
        #expect(cursor.position == 0)
        func letterX(_ cursor: inout ByteCursor) throws(ParseFailure) -> String {
            try cursor.expect(0x78, orElse: "x")
            return "x"
        }
        func letterA(_ cursor: inout ByteCursor) throws(ParseFailure) -> String {
            try cursor.expect(0x61, orElse: "a")
            return "a"
        }
        let picked = try cursor.oneOf([letterX, letterA], orElse: "neither")
        #expect(picked == "a")
        #expect(cursor.position == 1)
        let consumed = cursor.consumeCaseInsensitive("BC")
        #expect(consumed)
        #expect(cursor.isAtEnd)
    }
}
