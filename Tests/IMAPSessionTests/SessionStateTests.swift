import AerieTestSupport
import IMAPSession
import Testing

/// The rules of `MailboxView`: each session moves its view of the selected mailbox only by what it sends.
@Suite struct SessionStateTests {
    /// Two sessions on one Maildir with `count` messages appended before either selects.
    static func pair(_ root: String, messages count: Int) throws -> (MailTranscript, MailTranscript) {
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        for n in 1...count { _ = try b.send("a\(n) APPEND INBOX {17+}\r\nSubject: n\(n % 10)\r\n\r\nxy") }
        _ = try a.send("s1 SELECT INBOX")
        _ = try b.send("s2 SELECT INBOX")
        return (a, b)
    }

    @Test func existsComesBeforeAnyFetchOfANewMessage() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 1)
        _ = try b.send("1 APPEND INBOX {17+}\r\nSubject: new\r\n\r\nx")
        // The FETCH names only what A knows; the new message is announced after it, never fetched before EXISTS.
        let out = try a.send("2 FETCH 1:* UID")
        #expect(out.first == "* 1 FETCH (UID 1)")
        #expect(!out.contains { $0.hasPrefix("* 2 FETCH") })
        #expect(out.contains("* 2 EXISTS"))
        #expect(try a.send("3 FETCH 2 UID").first == "* 2 FETCH (UID 2)")
    }

    @Test func noExpungeDuringFetchAndTheMessageStaysReadable() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 2)
        _ = try a.send("1 FETCH 1:2 FLAGS")
        _ = try b.send("2 STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(try b.send("3 EXPUNGE") == ["* 1 EXPUNGE", "3 OK Expunge completed."])
        // A was not told: message 1 keeps its number, its flags as told, and no EXPUNGE comes during FETCH.
        let fetched = try a.send("4 FETCH 1:2 (UID FLAGS)")
        #expect(
            fetched == [
                "* 1 FETCH (UID 1 FLAGS (\\Recent))", "* 2 FETCH (UID 2 FLAGS (\\Recent))", "4 OK Fetch completed.",
            ])
        // Its file is gone: the body is NIL, as Dovecot answers, and the FETCH still ends OK.
        let body = try a.send("5 FETCH 1 (UID BODY.PEEK[])")
        #expect(body == ["* 1 FETCH (UID 1 BODY[] NIL)", "5 OK [EXPUNGEISSUED] Some messages were already expunged."])
        #expect(try a.send("6 SEARCH ALL") == ["* SEARCH 1 2", "6 OK Search completed."])
        #expect(try a.send("6b SEARCH BODY xy") == ["* SEARCH 2", "6b OK Search completed."])
        #expect(try a.send("7 STORE 1:2 +FLAGS.SILENT (\\Seen)") == ["7 OK Store completed."])
        // COPY of a message known to be gone does nothing; the expunge is told before the NO, as Dovecot does.
        #expect(
            try a.send("7b COPY 1 INBOX") == [
                "* 1 EXPUNGE", "* 1 RECENT", "7b NO [EXPUNGEISSUED] Some of the requested messages no longer exist.",
            ])
        #expect(try a.send("8 NOOP") == ["8 OK NOOP completed."])
        #expect(
            try a.send("9 FETCH 1 (UID FLAGS)") == ["* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent))", "9 OK Fetch completed."])
    }

    @Test func uidFetchMayAnnounceExpunges() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 2)
        _ = try b.send("1 STORE 2 +FLAGS.SILENT (\\Deleted)")
        _ = try b.send("2 EXPUNGE")
        let out = try a.send("3 UID FETCH 1:* UID")
        #expect(out.prefix(3) == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "* 2 EXPUNGE"])
        #expect(out.last == "3 OK Fetch completed.")
    }

    @Test func ownExpungeAnnouncesOnlyKnownMessagesAndPendingOnes() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 3)
        _ = try b.send("1 STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try b.send("2 EXPUNGE")
        // B's expunge is now pending in A: its sequence numbers still count message 1.
        #expect(try a.send("3 STORE 3 +FLAGS.SILENT (\\Deleted)") == ["3 OK Store completed."])
        _ = try b.send("4 APPEND INBOX {17+}\r\nSubject: new\r\n\r\nx")
        let out = try a.send("5 EXPUNGE")
        // The pending expunge first, then the new message, then A's own expunge of UID 3 (now number 2).
        #expect(out.first == "* 1 EXPUNGE")
        let exists = try #require(out.firstIndex(of: "* 3 EXISTS"))
        let own = try #require(out.firstIndex(of: "* 2 EXPUNGE"))
        #expect(exists < own)
        #expect(out.last == "5 OK Expunge completed.")
        #expect(try a.send("6 FETCH 1:* UID").prefix(2) == ["* 1 FETCH (UID 2)", "* 2 FETCH (UID 4)"])
    }

    @Test func newKeywordsAreAnnouncedInFlagsBeforeUse() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 1)
        let stored = try b.send("1 STORE 1 +FLAGS ($Label2)")
        let flagsLine = try #require(stored.firstIndex { $0.hasPrefix("* FLAGS (") && $0.contains("$Label2") })
        let fetchLine = try #require(stored.firstIndex { $0.hasPrefix("* 1 FETCH (FLAGS (") })
        #expect(flagsLine < fetchLine)
        #expect(stored.contains { $0.hasPrefix("* OK [PERMANENTFLAGS (") && $0.contains("$Label2") })
        let noop = try a.send("2 NOOP")
        let aFlags = try #require(noop.firstIndex { $0.hasPrefix("* FLAGS (") && $0.contains("$Label2") })
        let aFetch = try #require(noop.firstIndex { $0.hasPrefix("* 1 FETCH (FLAGS (") && $0.contains("$Label2") })
        #expect(aFlags < aFetch)
        // Told once: the next FETCH uses the keyword without repeating FLAGS.
        #expect(try a.send("3 FETCH 1 FLAGS") == ["* 1 FETCH (FLAGS ($Label2 \\Recent))", "3 OK Fetch completed."])
    }

    @Test func flagsOfOtherSessionsAreToldAtTheNextSyncNotBefore() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, b) = try Self.pair(root, messages: 1)
        _ = try b.send("1 STORE 1 +FLAGS.SILENT (\\Flagged)")
        // The change arrives as an unsolicited FETCH after A's own answer, which still shows what A knew.
        let out = try a.send("2 FETCH 1 FLAGS")
        #expect(
            out == [
                "* 1 FETCH (FLAGS (\\Recent))", "* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)", "2 OK Fetch completed.",
            ])
    }

    /// RFC 7162 §3.1: the first CONDSTORE-enabling command tells the client the HIGHESTMODSEQ it may rely on.
    @Test func fetchModSeqEnablesCondstoreWithHighestModSeq() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let (a, _) = try Self.pair(root, messages: 1)
        let out = try a.send("1 FETCH 1 MODSEQ")
        #expect(out.first?.hasPrefix("* OK [HIGHESTMODSEQ ") == true)
        #expect(out.dropFirst().first?.hasPrefix("* 1 FETCH (MODSEQ (") == true)
        #expect(try a.send("2 FETCH 1 MODSEQ").first?.hasPrefix("* 1 FETCH (MODSEQ (") == true)
        #expect(try a.send("3 STORE 1 +FLAGS (\\Seen)").first?.contains(" MODSEQ (") == true)
    }

    @Test func withQResyncEveryFetchResponseCarriesTheUID() throws {
        let root = makeTempDirectory("state")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 ENABLE QRESYNC")
        _ = try a.send("3 SELECT INBOX")
        #expect(try a.send("4 FETCH 1 FLAGS").first == "* 1 FETCH (UID 1 FLAGS (\\Recent))")
        #expect(try a.send("5 STORE 1 +FLAGS (\\Seen)").first?.contains("UID 1") == true)
    }
}

/// RFC 3501 §2.3.2 \Recent for IMAP4rev1 sessions, as Dovecot keeps it.
@Suite struct RecentTests {
    @Test func theFirstReadWriteSessionClaimsRecentMessages() throws {
        let root = makeTempDirectory("recent")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        #expect(try b.send("3 STATUS INBOX (RECENT)").first == "* STATUS INBOX (RECENT 2)")
        #expect(try b.send("4 EXAMINE INBOX").contains("* 2 RECENT"))
        #expect(try a.send("5 SELECT INBOX").contains("* 2 RECENT"))
        #expect(try a.send("6 FETCH 1 FLAGS").first == "* 1 FETCH (FLAGS (\\Recent))")
        #expect(try a.send("7 SEARCH RECENT").first == "* SEARCH 1 2")
        #expect(try a.send("8 STATUS INBOX (RECENT)").first == "* STATUS INBOX (RECENT 2)")
        let c = try MailTranscript(root: root)
        #expect(try c.send("9 SELECT INBOX").contains("* 0 RECENT"))
        #expect(try c.send("10 SEARCH RECENT").first == "* SEARCH")
        #expect(try c.send("11 SEARCH OLD").first == "* SEARCH 1 2")
        #expect(try c.send("12 STATUS INBOX (RECENT)").first == "* STATUS INBOX (RECENT 0)")
        // EXAMINE keeps seeing what it saw; a session with nothing selected sees that none is left to claim.
        #expect(try b.send("13 STATUS INBOX (MESSAGES RECENT)").first == "* STATUS INBOX (MESSAGES 2 RECENT 2)")
        let d = try MailTranscript(root: root)
        #expect(try d.send("14 STATUS INBOX (MESSAGES RECENT)").first == "* STATUS INBOX (MESSAGES 2 RECENT 0)")
    }

    @Test func aDeliveryIsRecentForTheSessionThatLearnsOfItFirst() throws {
        let root = makeTempDirectory("recent")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try a.send("1 SELECT INBOX")
        _ = try b.send("2 SELECT INBOX")
        let c = try MailTranscript(root: root)
        _ = try c.send("3 APPEND INBOX {17+}\r\nSubject: new\r\n\r\nx")
        #expect(try b.send("4 NOOP") == ["* 1 EXISTS", "* 1 RECENT", "4 OK NOOP completed."])
        #expect(try a.send("5 NOOP") == ["* 1 EXISTS", "5 OK NOOP completed."])
        #expect(try b.send("6 SEARCH NEW").first == "* SEARCH 1")
        _ = try b.send("7 STORE 1 +FLAGS.SILENT (\\Seen)")
        #expect(try b.send("8 SEARCH NEW").first == "* SEARCH")
        #expect(try b.send("9 FETCH 1 FLAGS").first == "* 1 FETCH (FLAGS (\\Seen \\Recent))")
    }

    @Test func imap4rev2SessionsSeeNoRecentAndClaimNone() throws {
        let root = makeTempDirectory("recent")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 ENABLE IMAP4rev2")
        let selected = try a.send("3 SELECT INBOX")
        #expect(!selected.contains { $0.hasSuffix(" RECENT") })
        #expect(try a.send("4 FETCH 1 FLAGS").first == "* 1 FETCH (FLAGS ())")
        let b = try MailTranscript(root: root)
        #expect(try b.send("5 SELECT INBOX").contains("* 1 RECENT"))
    }
}
