import AerieTestSupport
import IMAPProtocol
import Testing

@testable import IMAPSession

/// Behaviour imaptest's compliance groups check (listext, subscribe, esearch-condstore, atoms), as transcripts.
@Suite struct ListExtendedTests {
    /// The mailboxes of imaptest's listext group: `t/test2` and its child exist, `t/test8` only as a parent.
    static func prepared(_ root: String) throws -> MailTranscript {
        let t = try MailTranscript(root: root)
        for name in ["t/test1", "t/test2", "t/test2/test1", "t/test3", "t/test7/test7", "t/test8/test8"] {
            #expect(try t.send("c CREATE \(name)").last?.hasPrefix("c OK") == true)
        }
        _ = try t.send("c CREATE t/test8/test9")
        for name in ["t/test1", "t/test2/test1", "t/test7/test7", "t/test8/test8", "t/test8/test9"] {
            _ = try t.send("s SUBSCRIBE \(name)")
        }
        return t
    }

    /// RFC 5258 §3.5: RECURSIVEMATCH lists a parent with CHILDINFO when a subscribed descendant does not match the
    /// pattern itself; a descendant that matches is listed instead.
    @Test func recursiveMatchReportsChildInfo() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try Self.prepared(root)
        #expect(try t.send("1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t/test2% RETURN (CHILDREN)") == [
            "* LIST (\\HasChildren) \"/\" t/test2 (\"CHILDINFO\" (\"SUBSCRIBED\"))", "1 OK List completed.",
        ])
        #expect(try t.send("2 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2 t/test2/test1)") == [
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" t/test2/test1", "2 OK List completed.",
        ])
        #expect(try t.send("3 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test7") == [
            "* LIST (\\HasNoChildren \\Subscribed) \"/\" t/test7/test7", "3 OK List completed.",
        ])
        let test8 = try t.send("4 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test8")
        #expect(test8.contains { $0.hasSuffix("\"/\" t/test8 (\"CHILDINFO\" (\"SUBSCRIBED\"))") })
        #expect(test8.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" t/test8/test8"))
        #expect(test8.count == 3)
        // Without RECURSIVEMATCH only the subscriptions themselves.
        #expect(try t.send("5 LIST (SUBSCRIBED) \"\" t/test2%") == ["5 OK List completed."])
    }

    /// RFC 3501 §6.3.9: a subscribed child under an unsubscribed parent that `%` stops at lists the parent \Noselect.
    @Test func lsubListsUnsubscribedParentsAsNoselect() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try Self.prepared(root)
        #expect(try t.send("1 LSUB \"\" t/%") == [
            "* LSUB () \"/\" t/test1", "* LSUB (\\Noselect) \"/\" t/test2", "* LSUB (\\Noselect) \"/\" t/test7",
            "* LSUB (\\Noselect) \"/\" t/test8", "1 OK Lsub completed.",
        ])
        #expect(try t.send("2 LSUB \"\" *test1") == [
            "* LSUB () \"/\" t/test1", "* LSUB () \"/\" t/test2/test1", "2 OK Lsub completed.",
        ])
        _ = try t.send("3 UNSUBSCRIBE t/test2/test1")
        #expect(try t.send("4 LSUB \"\" t/test2%") == ["4 OK Lsub completed."])
    }
}

@Suite struct CondstoreEnablingTests {
    /// RFC 7162 §3.1: FETCH MODSEQ is a CONDSTORE enabling command; the first one tells the client HIGHESTMODSEQ.
    @Test func fetchModSeqEnablesCondstore() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        _ = try t.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try t.send("2 SELECT INBOX")
        let first = try t.send("3 FETCH 1 MODSEQ")
        #expect(first.count == 3)
        #expect(first[0].hasPrefix("* OK [HIGHESTMODSEQ "))
        #expect(first[1].hasPrefix("* 1 FETCH (MODSEQ ("))
        #expect(try t.send("4 FETCH 1 MODSEQ").count == 2)
        // Now every FETCH a STORE causes carries the MODSEQ.
        #expect(try t.send("5 STORE 1 +FLAGS \\Seen")[0].contains("MODSEQ ("))
    }

    /// RFC 4731 §3.2: with MIN or MAX alone, ESEARCH's MODSEQ is that of the messages returned.
    @Test func esearchModSeqFollowsMinAndMax() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        for tag in ["a", "b", "c"] { _ = try t.send("\(tag) APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx") }
        _ = try t.send("1 SELECT INBOX (CONDSTORE)")
        // Stored in the order 1, 3, 2: message 2 has the highest modseq, message 3 the middle one.
        var modSeqs: [Int: String] = [:]
        for n in [1, 3, 2] {
            let line = try t.send("s\(n) STORE \(n) +FLAGS \\Seen")[0]
            modSeqs[n] = String(line.split(separator: "MODSEQ (")[1].prefix { $0.isNumber })
        }
        func first(_ line: String) throws -> String { try t.send(line)[0] }
        #expect(try first("2 SEARCH RETURN (MIN) 1:3 MODSEQ 1") == "* ESEARCH (TAG \"2\") MIN 1 MODSEQ \(modSeqs[1]!)")
        #expect(try first("3 SEARCH RETURN (MAX) 1:3 MODSEQ 1") == "* ESEARCH (TAG \"3\") MAX 3 MODSEQ \(modSeqs[3]!)")
        #expect(try first("4 SEARCH RETURN () 1:3 MODSEQ 1") == "* ESEARCH (TAG \"4\") ALL 1:3 MODSEQ \(modSeqs[2]!)")
        #expect(
            try t.send("5 SEARCH RETURN (MIN MAX) 1:3 MODSEQ 1")[0]
                == "* ESEARCH (TAG \"5\") MIN 1 MAX 3 MODSEQ \(max(Int(modSeqs[1]!)!, Int(modSeqs[3]!)!))")
    }
}

@Suite struct MailboxNameTests {
    /// A name that is not valid modified UTF-7 is a well-formed argument for no mailbox: NO, as Dovecot answers
    /// (imaptest's atoms group); `~` starts no literal here.
    @Test func atomCharactersNameNoMailbox() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        #expect(try t.send("1 SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}") == ["1 NO Mailbox name is not valid mUTF-7."])
        #expect(try t.send("2 SELECT ~foo").last?.hasPrefix("2 NO ") == true)
        #expect(try t.send("3 LIST \"\" ~foo") == ["3 OK List completed."])
    }

    /// A name too long for its directory is refused clearly, not as a server bug.
    @Test func overlongNameIsRefused() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        let name = String(repeating: "n", count: 300)
        #expect(try t.send("1 CREATE \(name)") == ["1 NO [CANNOT] Mailbox name too long."])
        #expect(try t.send("2 SELECT \(name)") == ["2 NO [CANNOT] Mailbox name too long."])
    }
}
