import AerieTestSupport
import IMAPProtocol
import Testing

@testable import IMAPSession

/// Handlers that return their responses write nothing themselves: the answer is a value the test reads.
@Suite struct ReturningHandlerTests {
    /// Runs `line`'s table handler directly; nil if the command streams to an output instead.
    static func answer(_ line: String, in client: CommandTranscript) throws -> [String]? {
        let command = try IMAPCommandParser.parse(Array(line.utf8))
        guard case .returning(let handle)? = IMAPCommands.spec(for: command)?.mail else { return nil }
        client.output.reset()
        let result = try handle(client.mail, command)
        #expect(client.output.lines.isEmpty)
        return result.untagged.map { String(decoding: $0.bytes.dropLast(2), as: UTF8.self) }
    }

    @Test func searchSortThreadAndLsubReturnTheirAnswers() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root)
        client.appendMessages(2)
        _ = client.send("a SELECT INBOX")
        _ = client.send("b SUBSCRIBE INBOX")
        #expect(
            try Self.answer("c SEARCH MODSEQ 1", in: client) == [
                "* OK [HIGHESTMODSEQ 3] Highest", "* SEARCH 1 2 (MODSEQ 3)",
            ])
        #expect(
            try Self.answer("d UID SORT RETURN (COUNT) (SUBJECT) UTF-8 ALL", in: client) == [
                "* ESEARCH (TAG \"d\") UID COUNT 2"
            ])
        #expect(try Self.answer("e THREAD ORDEREDSUBJECT UTF-8 ALL", in: client) == ["* THREAD (1)(2)"])
        #expect(try Self.answer("f LSUB \"\" *", in: client) == ["* LSUB () \"/\" INBOX"])
        #expect(try Self.answer("g NAMESPACE", in: client) == ["* NAMESPACE ((\"\" \"/\")) NIL NIL"])
        #expect(try Self.answer("h FETCH 1 FLAGS", in: client) == nil)
    }
}
