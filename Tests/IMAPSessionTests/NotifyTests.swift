import AerieStorage
import AerieTestSupport
import IMAPProtocol
import Testing

@testable import IMAPSession

/// NOTIFY (RFC 5465): what one session hears, at the end of its commands and at the connection's polls between
/// them, when another session changes the mailboxes it watches.
@Suite final class NotifyTests {
    let root = makeTempDirectory("notify")
    deinit { removeTree(root) }

    private func literal(_ text: String) -> String { "{\(text.utf8.count)+}\r\n\(text)" }

    /// What the connection's poll sends (between commands, or during IDLE).
    private func poll(_ t: MailTranscript) -> [String] {
        t.output.reset()
        t.session.idlePoll(output: t.output)
        return t.output.lines
    }

    @Test func refusedEventsAndFilters() throws {
        let a = try MailTranscript(root: root, rev2: true)
        #expect(
            try a.send(
                "1 NOTIFY SET (INBOXES (MessageNew MessageExpunge AnnotationChange)) (PERSONAL (MailboxMetadataChange))"
            )
                == ["1 NO [BADEVENT AnnotationChange MailboxMetadataChange] Unsupported NOTIFY events."])
        #expect(
            try a.send("2 NOTIFY SET (SELECTED (FlagChange))")
                == ["2 BAD FlagChange requires MessageNew and MessageExpunge"])
        #expect(
            try a.send("3 NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)") == ["3 BAD Duplicate selected filter"])
        #expect(!a.session.wantsNotifyPolling)
        #expect(try a.send("4 NOTIFY NONE") == ["4 OK NOTIFY completed."])
    }

    /// SET STATUS sends the watched mailboxes' STATUS first (§3.1), as imaptest's notify group checks; without
    /// STATUS nothing is sent.
    @Test func setStatusSendsTheCurrentStatus() throws {
        let a = try MailTranscript(root: root, rev2: true)
        _ = try a.send("1 CREATE Box")
        _ = try a.send("2 APPEND Box " + literal("Subject: x\r\n\r\nx"))
        let out = try a.send("3 NOTIFY SET STATUS (MAILBOXES Box (MessageNew MessageExpunge))")
        #expect(out.count == 2)
        #expect(out[0].hasPrefix("* STATUS Box (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "))
        #expect(out[0].hasSuffix(" UNSEEN 1)"))
        #expect(out[1] == "3 OK NOTIFY completed.")
        let flags = try a.send("4 NOTIFY SET STATUS (MAILBOXES Box (MessageNew MessageExpunge FlagChange))")
        #expect(flags.first?.hasSuffix(" UNSEEN 1 HIGHESTMODSEQ 2)") == true)
        #expect(
            try a.send("5 NOTIFY SET (MAILBOXES Box (MessageNew MessageExpunge FlagChange))")
                == ["5 OK NOTIFY completed."])
        #expect(a.session.wantsNotifyPolling)
    }

    @Test func otherMailboxesGetStatusAndListEvents() throws {
        let a = try MailTranscript(root: root, rev2: true)
        let b = try MailTranscript(root: root, rev2: true)
        _ = try b.send("1 CREATE Box")
        _ = try a.send("2 SELECT INBOX")
        _ = try a.send(
            "3 NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
                + "(PERSONAL (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))")
        _ = try b.send("4 APPEND Box " + literal("Subject: x\r\n\r\nx"))
        #expect(poll(a) == ["* STATUS Box (MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ 2)"])
        #expect(poll(a) == [])
        _ = try b.send("5 SELECT Box")
        _ = try b.send("6 STORE 1 +FLAGS.SILENT (\\Seen)")
        #expect(poll(a) == ["* STATUS Box (UNSEEN 0 HIGHESTMODSEQ 3)"])
        _ = try b.send("7 CREATE New")
        _ = try b.send("8 SUBSCRIBE New")
        #expect(poll(a) == ["* LIST () \"/\" New", "* LIST (\\Subscribed) \"/\" New"])
        _ = try b.send("9 DELETE New")
        // Deleting keeps the subscription, as in Dovecot.
        #expect(poll(a) == ["* LIST (\\NonExistent) \"/\" New"])
        // The selected mailbox: EXISTS between commands, and never a STATUS.
        _ = try b.send("10 APPEND INBOX " + literal("Subject: y\r\n\r\ny"))
        #expect(poll(a) == ["* 1 EXISTS"])
        // At the end of a command too.
        _ = try b.send("11 APPEND Box " + literal("Subject: z\r\n\r\nz"))
        #expect(
            try a.send("12 NOOP") == [
                "* STATUS Box (MESSAGES 2 UIDNEXT 3 UNSEEN 1 HIGHESTMODSEQ 4)", "12 OK NOOP completed.",
            ])
        _ = try a.send("13 NOTIFY NONE")
        _ = try b.send("14 APPEND Box " + literal("Subject: w\r\n\r\nw"))
        #expect(poll(a) == [])
        #expect(!a.session.wantsNotifyPolling)
    }

    /// SELECTED-DELAYED holds EXPUNGE back until a command that may announce it; `MessageNew (fetch-att)` FETCHes
    /// each new message after its EXISTS.
    @Test func selectedDelayedAndMessageNewFetch() throws {
        let a = try MailTranscript(root: root, rev2: true)
        let b = try MailTranscript(root: root, rev2: true)
        _ = try b.send("1 APPEND INBOX " + literal("Subject: one\r\n\r\nx"))
        _ = try a.send("2 SELECT INBOX")
        _ = try b.send("3 SELECT INBOX")
        _ = try a.send("4 NOTIFY SET (SELECTED-DELAYED (MessageNew (UID) MessageExpunge))")
        _ = try b.send("5 STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = try b.send("6 EXPUNGE")
        _ = try b.send("7 APPEND INBOX " + literal("Subject: two\r\n\r\nx"))
        #expect(poll(a) == ["* 2 EXISTS", "* 2 FETCH (UID 2)"])
        #expect(try a.send("8 NOOP") == ["* 1 EXPUNGE", "8 OK NOOP completed."])
    }
}
