import AerieStorage
import AerieTestSupport
import Testing

@testable import IMAPSession

/// CONTEXT=SEARCH (RFC 5267 §4): PARTIAL results, and SEARCH RETURN (UPDATE) results kept up to date while this
/// session and another one change the mailbox.
@Suite final class SearchUpdateTests {
    let root = makeTempDirectory("search-update")
    deinit { removeTree(root) }

    /// Two sessions on one INBOX of `count` messages, both with it selected.
    private func twoSessions(count: Int) throws -> (MailTranscript, MailTranscript) {
        let a = try MailTranscript(root: root, rev2: true)
        let b = try MailTranscript(root: root, rev2: true)
        for n in 1...count {
            let message = "Subject: m\(n)\r\n\r\nbody \(n)"
            _ = try b.send("x APPEND INBOX {\(message.utf8.count)+}\r\n\(message)")
        }
        _ = try a.send("s SELECT INBOX")
        _ = try b.send("s SELECT INBOX")
        return (a, b)
    }

    @Test func syntaxAndStateErrorsFirst() throws {
        let a = try MailTranscript(root: root, rev2: true)
        #expect(try a.send("1 CANCELUPDATE \"x\"") == ["1 BAD No mailbox selected."])
        _ = try a.send("2 SELECT INBOX")
        #expect(try a.send("3 CANCELUPDATE \"x\"") == ["3 NO Unknown tag."])
        #expect(try a.send("4 SEARCH RETURN (UPDATE) ALL") == ["* ESEARCH (TAG \"4\")", "4 OK Search completed."])
        // Nothing is cancelled when one tag is unknown.
        #expect(try a.send("5 CANCELUPDATE \"4\" \"x\"") == ["5 NO Unknown tag."])
        #expect(try a.send("6 CANCELUPDATE \"4\"") == ["6 OK Updates cancelled."])
        #expect(try a.send("7 CANCELUPDATE \"4\"") == ["7 NO Unknown tag."])
    }

    /// RFC 5267 §4.4, with imaptest's search-partial answers.
    @Test func partialReportsPositionsOfTheResult() throws {
        let (a, _) = try twoSessions(count: 5)
        #expect(
            try a.send("1 SEARCH RETURN (PARTIAL 4:2) ALL") == [
                "* ESEARCH (TAG \"1\") PARTIAL (2:4 2:4)", "1 OK Search completed.",
            ])
        #expect(
            try a.send("2 SEARCH RETURN (PARTIAL 6:6) ALL") == [
                "* ESEARCH (TAG \"2\") PARTIAL (6:6 NIL)", "2 OK Search completed.",
            ])
        #expect(
            try a.send("3 SEARCH RETURN (PARTIAL 2:3 COUNT) 1:2,4:5")
                == ["* ESEARCH (TAG \"3\") COUNT 4 PARTIAL (2:3 2,4)", "3 OK Search completed."])
        #expect(
            try a.send("4 UID SEARCH RETURN (PARTIAL 5:5) ALL") == [
                "* ESEARCH (TAG \"4\") UID PARTIAL (5:5 5)", "4 OK Search completed.",
            ])
        // SAVE keeps only the messages in the range.
        _ = try a.send("5 SEARCH RETURN (SAVE PARTIAL 2:3) ALL")
        #expect(try a.send("6 SEARCH $") == ["* SEARCH 2 3", "6 OK Search completed."])
    }

    /// Own STOREs and APPENDs move messages in and out of the result, as imaptest's search-context-update has it.
    @Test func ownChangesUpdateTheResult() throws {
        let (a, _) = try twoSessions(count: 5)
        #expect(try a.send("1 SEARCH RETURN (UPDATE) SEEN") == ["* ESEARCH (TAG \"1\")", "1 OK Search completed."])
        let stored = try a.send("2 STORE 1,2,4 +FLAGS.SILENT (\\Seen)")
        #expect(stored == ["* ESEARCH (TAG \"1\") ADDTO (0 1:2,4)", "2 OK Store completed."])
        #expect(
            try a.send("3 STORE 1,2 -FLAGS.SILENT (\\Seen)") == [
                "* ESEARCH (TAG \"1\") REMOVEFROM (0 1:2)", "3 OK Store completed.",
            ])
        _ = try a.send("4 STORE 3:5 +FLAGS.SILENT (\\Deleted)")
        // The removal comes first, numbered as the client knew the messages before the EXPUNGEs.
        #expect(
            try a.send("5 EXPUNGE")
                == [
                    "* ESEARCH (TAG \"1\") REMOVEFROM (0 4)", "* 3 EXPUNGE", "* 3 EXPUNGE", "* 3 EXPUNGE",
                    "5 OK Expunge completed.",
                ])
        let appended = try a.send("6 APPEND INBOX (\\Seen) {6+}\r\nA: b\r\n")
        #expect(Array(appended.prefix(2)) == ["* 3 EXISTS", "* ESEARCH (TAG \"1\") ADDTO (0 3)"])
        _ = try a.send("7 CANCELUPDATE \"1\"")
        #expect(try a.send("8 STORE 1 +FLAGS.SILENT (\\Seen)") == ["8 OK Store completed."])
    }

    /// Another session's changes reach the result when this session announces them (here at NOOP); a UID SEARCH
    /// context reports UIDs.
    @Test func anotherSessionsChangesUpdateTheResult() throws {
        let (a, b) = try twoSessions(count: 4)
        #expect(
            try a.send("1 UID SEARCH RETURN (UPDATE ALL) FLAGGED") == [
                "* ESEARCH (TAG \"1\") UID", "1 OK Search completed.",
            ])
        #expect(
            try a.send("2 SEARCH RETURN (UPDATE COUNT) UNFLAGGED") == [
                "* ESEARCH (TAG \"2\") COUNT 4", "2 OK Search completed.",
            ])
        _ = try b.send("3 STORE 2,3 +FLAGS.SILENT (\\Flagged)")
        let noop = try a.send("4 NOOP")
        #expect(noop.contains("* ESEARCH (TAG \"2\") REMOVEFROM (0 2:3)"))
        #expect(noop.contains("* ESEARCH (TAG \"1\") UID ADDTO (0 2:3)"))
        #expect(noop.last == "4 OK NOOP completed.")
        _ = try b.send("5 STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try b.send("6 EXPUNGE")
        let message = "Subject: new\r\n\r\nx"
        _ = try b.send("7 APPEND INBOX (\\Flagged) {\(message.utf8.count)+}\r\n\(message)")
        let second = try a.send("8 NOOP")
        #expect(
            second == [
                "* ESEARCH (TAG \"2\") REMOVEFROM (0 1)", "* 1 EXPUNGE", "* 4 EXISTS",
                "* ESEARCH (TAG \"1\") UID ADDTO (0 5)",
                "8 OK NOOP completed.",
            ])
    }

    /// A message expunged by another session during a command that may not announce it stays in the result
    /// until the EXPUNGE is sent.
    @Test func anUnannouncedExpungeKeepsItsPlace() throws {
        let (a, b) = try twoSessions(count: 3)
        _ = try a.send("1 SEARCH RETURN (UPDATE) ALL")
        _ = try b.send("2 STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try b.send("3 EXPUNGE")
        let fetched = try a.send("4 FETCH 1 UID")
        #expect(!fetched.contains { $0.contains("ESEARCH") || $0.contains("EXPUNGE") })
        #expect(
            try a.send("5 NOOP") == ["* ESEARCH (TAG \"1\") REMOVEFROM (0 2)", "* 2 EXPUNGE", "5 OK NOOP completed."])
    }

    /// A new selection ends the contexts of the old one; more than ten at once are refused with NOUPDATE.
    @Test func contextsEndWithTheSelectionAndAreBounded() throws {
        let (a, _) = try twoSessions(count: 2)
        for n in 1...SearchUpdates.limit { _ = try a.send("u\(n) SEARCH RETURN (UPDATE) SEEN") }
        #expect(
            try a.send("over SEARCH RETURN (UPDATE) SEEN")
                == [
                    "* ESEARCH (TAG \"over\")", "* NO [NOUPDATE \"over\"] Too many updating searches.",
                    "over OK Search completed.",
                ])
        _ = try a.send("s SELECT INBOX")
        #expect(try a.send("1 STORE 1 +FLAGS.SILENT (\\Seen)") == ["1 OK Store completed."])
        #expect(try a.send("2 CANCELUPDATE \"u1\"") == ["2 NO Unknown tag."])
    }
}
