import AerieAuth
import AerieStorage
import AerieTestSupport
import Glibc
import IMAPProtocol
import IMAPSession
import Testing

/// RFC 6154 §3 CREATE-SPECIAL-USE and the LIST that reports it (§5.1).
@Suite struct CreateSpecialUseTests {
    @Test func createdAttributeIsListedWhereverSpecialUseIsAsked() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        #expect(try t.send("1 CREATE Old (USE (\\archive))").last?.hasPrefix("1 OK ") == true)
        _ = try t.send("2 CREATE Other")
        #expect(
            try t.send("3 LIST \"\" * RETURN (SPECIAL-USE)") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* LIST (\\HasNoChildren \\Archive) \"/\" Old",
                "* LIST (\\HasNoChildren) \"/\" Other", "3 OK List completed.",
            ])
        #expect(
            try t.send("4 LIST (SPECIAL-USE) \"\" *") == [
                "* LIST (\\HasNoChildren \\Archive) \"/\" Old", "4 OK List completed.",
            ])
        #expect(
            try t.send("5 LIST \"\" Old") == ["* LIST (\\HasNoChildren \\Archive) \"/\" Old", "5 OK List completed."])
        // RFC 5258: an extended LIST that does not ask for special use does not get it.
        #expect(
            try t.send("6 LIST () \"\" Old RETURN ()") == [
                "* LIST (\\HasNoChildren) \"/\" Old", "6 OK List completed.",
            ])
    }

    @Test func attributeMovesWithRenameAndGoesWithDelete() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        _ = try t.send("1 CREATE Old (USE (\\Trash \\Junk))")
        #expect(try t.send("2 RENAME Old New") == ["2 OK Rename completed."])
        let restarted = try MailTranscript(root: root)
        #expect(
            try restarted.send("3 LIST \"\" New") == [
                "* LIST (\\HasNoChildren \\Trash \\Junk) \"/\" New", "3 OK List completed.",
            ])
        #expect(try restarted.send("4 DELETE New") == ["4 OK Delete completed."])
        _ = try restarted.send("5 CREATE New")
        #expect(
            try restarted.send("6 LIST \"\" New") == ["* LIST (\\HasNoChildren) \"/\" New", "6 OK List completed."])
    }

    @Test func unknownOrVirtualAttributesRefuseTheCreate() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        #expect(
            try t.send("1 CREATE x (USE (\\Bogus))") == ["1 NO [USEATTR] Unsupported special-use attribute \\Bogus."])
        #expect(
            try t.send("2 CREATE x (USE (\\Sent \\All))") == [
                "2 NO [USEATTR] \\All needs a virtual mailbox, which this server cannot create."
            ])
        #expect(try t.send("3 CREATE x (USE (\\Flagged))").first?.hasPrefix("3 NO [USEATTR] \\Flagged ") == true)
        #expect(try t.send("4 LIST \"\" x") == ["4 OK List completed."])
        #expect(try t.send("5 CREATE x (USE ())").last?.hasPrefix("5 OK ") == true)
        #expect(try t.send("6 LIST \"\" x") == ["* LIST (\\HasNoChildren) \"/\" x", "6 OK List completed."])
    }

    /// RFC 6154 §3: an attribute the server cannot store fails the CREATE; the name stays what it was (here an fs
    /// layout \Noselect parent). A directory where the attribute file goes fails the write even for root.
    @Test func anAttributeThatCannotBeStoredIsRefusedAndCreatesNothing() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root, layout: .fs)
        _ = try t.send("1 CREATE Parent/Child")
        #expect(mkdir(root + "/Parent/.aerie-special-use", 0o700) == 0)
        #expect(
            try t.send("2 CREATE Parent (USE (\\Archive))") == [
                "2 NO [SERVERBUG] Internal error occurred. Refer to server log for more information."
            ])
        #expect(
            try t.send("3 LIST \"\" * RETURN (SPECIAL-USE)") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* LIST (\\HasChildren \\Noselect) \"/\" Parent",
                "* LIST (\\HasNoChildren) \"/\" Parent/Child", "3 OK List completed.",
            ])
        #expect(try t.send("4 SELECT Parent").last?.hasPrefix("4 NO ") == true)
    }

    @Test func configuredAndCreatedAttributesAreMerged() throws {
        let settings = MailSessionSettings(
            autoMailboxes: [.init(name: "Sent", specialUse: ["\\Sent"], auto: "create")])
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root, settings: settings)
        t.session.prepareAutoMailboxes()
        _ = try t.send("1 CREATE Archive (USE (\\Archive))")
        #expect(
            try t.send("2 LIST (SPECIAL-USE) \"\" *") == [
                "* LIST (\\HasNoChildren \\Archive) \"/\" Archive", "* LIST (\\HasNoChildren \\Sent) \"/\" Sent",
                "2 OK List completed.",
            ])
    }

    @Test func capabilityListsCreateSpecialUse() {
        #expect(MailSession.capabilities.contains("CREATE-SPECIAL-USE"))
    }
}

/// RFC 7889 §3: APPENDLIMIT=n after login, when one limit applies to every mailbox.
@Suite struct AppendLimitCapabilityTests {
    @Test func advertisedAfterLoginOnly() {
        var transcript = Transcript(tls: true, settings: .init(auth: LoginAuthSettings(mechanisms: [.plain]), appendLimit: 10_485_760))
        let before = lines(transcript.send("a CAPABILITY"))[0].split(separator: " ")
        #expect(!before.contains { $0.hasPrefix("APPENDLIMIT") })
        #expect(!before.contains("CREATE-SPECIAL-USE"))
        _ = transcript.send("b LOGIN demo secret")
        let loggedIn = lines(transcript.finish(.success(demo)))[0]
        #expect(loggedIn.hasPrefix("b OK [CAPABILITY IMAP4rev2 "))
        #expect(loggedIn.contains(" APPENDLIMIT=10485760]"))
        let after = lines(transcript.send("c CAPABILITY"))[0].split(separator: " ")
        #expect(after.contains("APPENDLIMIT=10485760"))
        #expect(after.contains("CREATE-SPECIAL-USE"))
    }

    /// A literal the framer refused within the APPENDLIMIT belongs to another command (it spools only APPEND's): that
    /// command gets BAD, not a word about APPENDLIMIT.
    @Test func otherCommandsLiteralWithinTheLimitIsBad() {
        let settings = IMAPSessionSettings(auth: LoginAuthSettings(mechanisms: [.plain]), appendLimit: 1000)
        var transcript = Transcript(tls: true, settings: settings)
        _ = transcript.send("a LOGIN demo secret")
        _ = transcript.finish(.success(demo))
        let small = transcript.session.framingFailed(.literalTooLarge(tag: "b", size: 300, synchronizing: true))
        #expect(lines(small) == ["b BAD [TOOBIG] Literal too large."])
        let big = transcript.session.framingFailed(.literalTooLarge(tag: "c", size: 3000, synchronizing: true))
        #expect(lines(big) == ["c NO [TOOBIG] Message is larger than APPENDLIMIT 1000."])
    }

    @Test func appendOverTheLimitIsTooBig() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root, settings: MailSessionSettings(appendLimit: 20))
        #expect(
            try t.send("1 APPEND INBOX {21+}\r\nSubject: x\r\n\r\n1234567") == [
                "1 NO [TOOBIG] Message is larger than APPENDLIMIT 20."
            ])
        #expect(
            try t.send("2 STATUS INBOX (MESSAGES APPENDLIMIT)") == [
                "* STATUS INBOX (MESSAGES 0 APPENDLIMIT 20)", "2 OK Status completed.",
            ])
    }
}

/// Issue 14: a search that runs past `imap_search_time_limit` ends with NO [LIMIT], for SEARCH, SORT and THREAD.
@Suite struct SearchTimeLimitTests {
    @Test func aSearchPastItsTimeLimitAnswersLimit() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root, settings: MailSessionSettings(searchTimeLimit: .zero))
        _ = try t.send("1 APPEND INBOX {12+}\r\nSubject: x\r\n")
        _ = try t.send("2 SELECT INBOX")
        let limit = "NO [LIMIT] Search took too long: narrow it down."
        #expect(try t.send("3 SEARCH TEXT nothing") == ["3 \(limit)"])
        #expect(try t.send("4 SORT (DATE) UTF-8 ALL") == ["4 \(limit)"])
        #expect(try t.send("5 THREAD REFERENCES UTF-8 ALL") == ["5 \(limit)"])
        // The session goes on.
        #expect(try t.send("6 NOOP") == ["6 OK NOOP completed."])
    }

    @Test func withinItsTimeLimitASearchAnswers() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root, settings: MailSessionSettings(searchTimeLimit: .seconds(3600)))
        _ = try t.send("1 APPEND INBOX {12+}\r\nSubject: x\r\n")
        _ = try t.send("2 SELECT INBOX")
        #expect(try t.send("3 SEARCH SUBJECT x") == ["* SEARCH 1", "3 OK Search completed."])
    }
}
