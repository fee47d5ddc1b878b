import AerieAuth
import AerieCore
import AerieStorage
import AerieTestSupport
import Glibc
import LMTPProtocol
import LMTPSession
import Testing

@Suite struct LMTPSessionTests {
    static let lhloReply = [
        "250-mx.example.org", "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-SIZE 52428800",
        "250 CHUNKING",
    ]

    @Test func greeting() {
        let harness = Harness()
        #expect(harness.play(harness.session.greeting()) == ["220 mx.example.org Aerie LMTP ready"])
    }

    @Test func pipelinedTransactionInOneFeed() throws {
        let harness = Harness()
        let out = harness.feed(
            "LHLO mta.example.org\r\nMAIL FROM:<sender@example.net> SIZE=40\r\nRCPT TO:<alice@example.org>\r\n"
                + "RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: hi\r\nMessage-ID: <m1@example.net>\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n"
        )
        #expect(
            out == Self.lhloReply + [
                "250 2.1.0 OK", "250 2.1.5 OK", "250 2.1.5 OK", "354 OK",
                "250 2.0.0 <alice@example.org> Saved", "250 2.0.0 <bob@example.org> Saved", "221 2.0.0 Bye",
            ])
        #expect(harness.lookups == ["alice@example.org", "bob@example.org"])
        #expect(harness.closed == "Client has quit the connection")
        #expect(harness.deliveries.count == 1)
        #expect(harness.deliveries[0].sender == "sender@example.net")
        #expect(
            harness.deliveries[0].message
                == Array("Subject: hi\r\nMessage-ID: <m1@example.net>\r\n\r\n.dot\r\nbody\r\n".utf8))
        let (_, alice) = try harness.inbox("alice@example.org")
        #expect(
            alice == [
                "Return-Path: <sender@example.net>\nDelivered-To: alice@example.org\n"
                    + "Received: from mta.example.org\n\tby mx.example.org with LMTP\n\tid S1d\n"
                    + "\t(envelope-from <sender@example.net>)\n\tfor <alice@example.org>; Mon, 01 Jan 2024 00:00:00 +0000\n"
                    + "Subject: hi\nMessage-ID: <m1@example.net>\n\n.dot\nbody\n"
            ])
        let (_, bob) = try harness.inbox("bob@example.org")
        #expect(
            bob.count == 1 && bob[0].hasPrefix("Return-Path: <sender@example.net>\nDelivered-To: bob@example.org\n"))
        let logged = harness.log.lines.map { "\($0.level.dovecotName) \($0.category): \($0.message)" }
        #expect(
            logged == [
                "Info lmtp(alice@example.org)<S1d>: msgid=<m1@example.net>: saved mail to INBOX",
                "Info lmtp(bob@example.org)<S1d>: msgid=<m1@example.net>: saved mail to INBOX",
            ])
    }

    @Test func byteByByteFeedGivesTheSameTranscript() {
        let script =
            "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\na\r\n.\r\nMAIL FROM:<s@x>\r\nRCPT TO:<bob@example.org>\r\nBDAT 3\r\nabcBDAT 0 LAST\r\nQUIT\r\n"
        let whole = Harness()
        let expected = whole.feed(script)
        let split = Harness()
        var out: [String] = []
        for byte in script.utf8 { out += split.feed([byte]) }
        #expect(out == expected)
        #expect(expected.last == "221 2.0.0 Bye")
        #expect(split.deliveries.map(\.message) == [Array("a\r\n".utf8), Array("abc".utf8)])
        #expect(split.deliveries.first?.sender == "")
    }

    @Test func unknownUserIsRefusedAndOthersStillGetTheMessage() throws {
        let harness = Harness()
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nhi\r\n.\r\n"
        )
        #expect(
            Array(out.dropFirst(6)) == [
                "250 2.1.0 OK", "550 5.1.1 <nobody@example.org> User doesn't exist", "250 2.1.5 OK", "354 OK",
                "250 2.0.0 <bob@example.org> Saved",
            ])
        #expect(harness.deliveries[0].recipients.map(\.address) == ["bob@example.org"])
    }

    @Test func dataWithoutValidRecipients() {
        let harness = Harness()
        let out = harness.feed("LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n")
        #expect(out.last == "503 5.5.1 No valid recipients")
    }

    @Test func detailSelectsAnExistingMailboxElseInbox() throws {
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", saveToDetailMailbox: true))
        try harness.store(for: harness.users["alice@example.org"]!).create("work")
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+work@example.org>\r\nRCPT TO:<alice+nope@example.org>\r\nDATA\r\nhi\r\n.\r\n"
        )
        #expect(harness.lookups == ["alice@example.org", "alice@example.org"])
        #expect(harness.deliveries[0].recipients.map(\.detail) == ["work", "nope"])
        #expect(
            out.suffix(2) == ["250 2.0.0 <alice+work@example.org> Saved", "250 2.0.0 <alice+nope@example.org> Saved"])
        let (_, work) = try harness.inbox("alice@example.org", mailbox: "work")
        let (_, inbox) = try harness.inbox("alice@example.org")
        #expect(work.count == 1 && work[0].contains("Delivered-To: alice+work@example.org"))
        #expect(inbox.count == 1 && inbox[0].contains("Delivered-To: alice+nope@example.org"))
        #expect(
            harness.log.lines.map(\.message) == [
                "msgid=unspecified: saved mail to work", "msgid=unspecified: saved mail to INBOX",
            ])
    }

    @Test func detailIgnoredUnlessSaveToDetailMailbox() throws {
        let harness = Harness()
        try harness.store(for: harness.users["alice@example.org"]!).create("work")
        harness.feed("LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+work@example.org>\r\nDATA\r\nhi\r\n.\r\n")
        #expect(harness.deliveries[0].recipients[0].detail == nil)
        #expect(try harness.inbox("alice@example.org").1.count == 1)
        #expect(try harness.inbox("alice@example.org", mailbox: "work").1.isEmpty)
    }

    @Test func oversizeMessageIsRefusedPerRecipientAfterTheTerminator() throws {
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", maxMessageSize: 100))
        #expect(
            Array(harness.feed("LHLO x\r\nMAIL FROM:<s@x> SIZE=101\r\n").suffix(1)) == [
                "552 5.3.4 Message too big for system"
            ])
        let body = String(repeating: "0123456789012345678\r\n", count: 10)
        let out = harness.feed(
            "MAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" + body
                + ".\r\nNOOP\r\n")
        #expect(
            out == [
                "250 2.1.0 OK", "250 2.1.5 OK", "250 2.1.5 OK", "354 OK", "552 5.3.4 Message too big for system",
                "552 5.3.4 Message too big for system", "250 2.0.0 OK",
            ])
        #expect(harness.deliveries.isEmpty)
        #expect(try harness.inbox("alice@example.org").1.isEmpty)
        // The transaction is over: a new one may start.
        #expect(harness.feed("MAIL FROM:<s@x>\r\n") == ["250 2.1.0 OK"])
    }

    @Test func sizeLimitIsAdvertisedAndZeroMeansNone() {
        let limited = Harness(settings: LMTPSessionSettings(hostname: "mx", maxMessageSize: 65536))
        #expect(limited.feed("LHLO x\r\n").contains("250-SIZE 65536"))
        #expect(limited.feed("MAIL FROM:<s@x> SIZE=65537\r\n") == ["552 5.3.4 Message too big for system"])
        #expect(limited.feed("MAIL FROM:<s@x> SIZE=65536\r\n") == ["250 2.1.0 OK"])
        let open = Harness(settings: LMTPSessionSettings(hostname: "mx", maxMessageSize: 0))
        #expect(open.feed("LHLO x\r\n").contains("250-SIZE"))
        #expect(open.feed("MAIL FROM:<s@x> SIZE=99999999999999999999\r\n") == ["250 2.1.0 OK"])
        let body = String(repeating: "x", count: 100_000)
        #expect(open.feed("RCPT TO:<alice@example.org>\r\nDATA\r\n\(body)\r\n.\r\n").last?.hasPrefix("250 ") == true)
        #expect(open.deliveries.first?.message.count == 100_002)
    }

    @Test func bdatChunks() throws {
        let harness = Harness()
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nBDAT 14\r\nSubject: x\r\n\r\nBDAT 6 LAST\r\nbody\r\n"
        )
        #expect(
            Array(out.dropFirst(6)) == [
                "250 2.1.0 OK", "250 2.1.5 OK", "250 2.0.0 14 octets received", "250 2.0.0 <alice@example.org> Saved",
            ])
        #expect(harness.deliveries[0].message == Array("Subject: x\r\n\r\nbody\r\n".utf8))
        #expect(try harness.inbox("alice@example.org").1.first?.hasSuffix("Subject: x\n\nbody\n") == true)
    }

    @Test func bdatWithoutTransactionIsReadAndRefused() {
        let harness = Harness()
        let out = harness.feed("LHLO x\r\nBDAT 5 LAST\r\nNOOP\r\nNOOP\r\n")
        // The five octets "NOOP\r" are the chunk; the "\n" alone is an empty line.
        #expect(Array(out.dropFirst(6)) == ["503 5.5.1 MAIL needed first", "500 5.5.2 Empty command", "250 2.0.0 OK"])
        #expect(harness.deliveries.isEmpty)
    }

    @Test func oversizeBDATChunkFailsTheTransaction() {
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", maxMessageSize: 10))
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nBDAT 11\r\n01234567890BDAT 1 LAST\r\nx")
        #expect(
            Array(out.dropFirst(6)) == [
                "250 2.1.0 OK", "250 2.1.5 OK", "552 5.3.4 Message too big for system", "503 5.5.1 MAIL needed first",
            ])
        #expect(harness.deliveries.isEmpty)
    }

    @Test func sequenceErrors() {
        let harness = Harness()
        #expect(harness.feed("MAIL FROM:<s@x>\r\n") == ["503 5.5.1 LHLO needed first"])
        #expect(harness.feed("HELO x\r\n") == ["500 5.5.1 Unknown command, use LHLO"])
        harness.feed("LHLO x\r\n")
        #expect(harness.feed("RCPT TO:<alice@example.org>\r\n") == ["503 5.5.1 MAIL needed first"])
        #expect(harness.feed("DATA\r\n") == ["503 5.5.1 MAIL needed first"])
        #expect(
            harness.feed("MAIL FROM:<s@x>\r\nMAIL FROM:<s@x>\r\n") == ["250 2.1.0 OK", "503 5.5.1 MAIL already given"])
        #expect(harness.feed("RSET\r\nDATA\r\n") == ["250 2.0.0 OK", "503 5.5.1 MAIL needed first"])
        #expect(harness.feed("VRFY alice\r\n") == ["252 2.3.3 Try RCPT instead"])
        #expect(harness.feed("STARTTLS\r\n") == ["500 5.5.1 Unknown command"])
        #expect(harness.lookups.isEmpty)
    }

    @Test func tooManyRecipients() {
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", maxRecipients: 1))
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n")
        #expect(out.suffix(2) == ["250 2.1.5 OK", "452 4.5.3 Too many recipients"])
    }

    @Test func badCommandsEndWith421() {
        let harness = Harness()
        var out: [String] = []
        for _ in 1...10 { out += harness.feed("XYZZY\r\n") }
        #expect(out.count == 11)
        #expect(out.last == "421 4.7.0 mx.example.org Too many invalid commands")
        #expect(harness.closed == "Too many invalid commands")
        #expect(harness.feed("NOOP\r\n").isEmpty)
    }

    @Test func longLineIsRefused() {
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", maxLineLength: 64))
        #expect(
            harness.feed("NOOP " + String(repeating: "x", count: 100) + "\r\nNOOP\r\n") == [
                "500 5.5.2 Line too long", "250 2.0.0 OK",
            ])
    }

    @Test func startTLSDropsPipelinedBytesAndNeedsLHLOAgain() {
        let harness = Harness(startTLSAvailable: true)
        let lhlo = harness.feed("LHLO x\r\n")
        #expect(lhlo.contains("250-CHUNKING") && lhlo.last == "250 STARTTLS")
        #expect(harness.feed("STARTTLS\r\nMAIL FROM:<evil@x>\r\n") == ["220 2.0.0 Begin TLS negotiation now"])
        #expect(harness.startedTLS)
        harness.session.tlsEstablished()
        #expect(harness.feed("MAIL FROM:<s@x>\r\n") == ["503 5.5.1 LHLO needed first"])
        #expect(!harness.feed("LHLO x\r\n").contains("250 STARTTLS"))
    }

    @Test func busySessionWaitsForTheLookup() {
        var session = LMTPSession(
            settings: LMTPSessionSettings(hostname: "mx"),
            context: ConnectionContext(
                remoteIP: "", localIP: "", sessionID: "s", isTLS: false, startTLSAvailable: false))
        let actions = session.receive(Array("LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\nRSET\r\n".utf8))
        guard case .lookupRecipient(let user) = actions.last else {
            Issue.record("expected a lookup")
            return
        }
        #expect(user == "a@x")
        #expect(session.isBusy)
        let after = session.recipientLookupFailed()
        #expect(!session.isBusy)
        let texts = after.compactMap { action -> String? in
            if case .send(let bytes) = action { return String(decoding: bytes, as: UTF8.self) }
            return nil
        }
        #expect(texts == ["451 4.3.0 <a@x> Temporary user lookup failure\r\n", "250 2.0.0 OK\r\n"])
    }
}

@Suite struct LMTPDelivererTests {
    static let alice = AuthenticatedUser(user: "alice", uid: 1500, gid: 1500, home: "/nonexistent")

    @Test func temporaryStorageFailureGives451() {
        let harness = Harness()
        harness.storeOverride = { _ in throw StorageError.io(path: "/full", errno: 28) }
        let out = harness.feed(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nMessage-ID: <q@x>\r\n\r\nx\r\n.\r\n")
        #expect(out.last == "451 4.2.0 <alice@example.org> Temporary failure in storing the message")
        #expect(harness.log.lines.count == 1)
        #expect(harness.log.lines[0].level == .error)
        #expect(harness.log.lines[0].message.hasPrefix("msgid=<q@x>: save failed to INBOX: I/O error on /full"))
    }

    @Test func failuresPerRecipient() {
        let delivery = LMTPDelivery(
            sender: "s@x",
            recipients: [
                LMTPRecipient(address: "a@x", user: Self.alice, detail: nil),
                LMTPRecipient(address: "b@x", user: Self.alice, detail: nil),
                LMTPRecipient(address: "c@x", user: Self.alice, detail: nil),
            ], message: Array("x\r\n".utf8))
        var calls = 0
        let replies = LMTPDeliverer.deliver(
            delivery,
            store: { _ in
                calls += 1
                switch calls {
                case 1: throw StorageError.quotaExceeded
                case 2: throw StorageError.lockTimeout("/lock")
                default: throw TemporaryStoreFailure()
                }
            }, log: DiscardingLogSink(), sessionID: "s")
        #expect(
            replies.map { String(decoding: $0.bytes, as: UTF8.self) } == [
                "552 5.2.2 <a@x> Quota exceeded (mailbox for user is full)\r\n",
                "451 4.2.0 <b@x> Temporary failure in storing the message\r\n",
                "451 4.3.0 <c@x> Temporary internal failure\r\n",
            ])
    }

    @Test func oneDurableFilePerRecipient() throws {
        let root = makeTempDirectory("lmtp-deliver")
        defer { removeTree(root) }
        let users = ["u1", "u2"].map { AuthenticatedUser(user: $0, uid: 1500, gid: 1500, home: "\(root)/\($0)") }
        let delivery = LMTPDelivery(
            sender: "",
            recipients: users.map { LMTPRecipient(address: "\($0.user)@example.org", user: $0, detail: nil) },
            message: Array("Subject: s\r\n\r\nbody\r\n".utf8))
        let replies = LMTPDeliverer.deliver(
            delivery, store: { try MailStore(configuration: MailStoreConfiguration(root: $0.home + "/Maildir")) },
            log: DiscardingLogSink(), sessionID: "s")
        #expect(replies.map(\.code) == [250, 250])
        for user in users {
            let store = try MailStore(configuration: MailStoreConfiguration(root: user.home + "/Maildir"))
            let inbox = try store.open("INBOX")
            #expect(inbox.messages.count == 1)
            let text = String(decoding: try inbox.read(uid: inbox.messages[0].uid), as: UTF8.self)
            #expect(text == "Return-Path: <>\nDelivered-To: \(user.user)@example.org\nSubject: s\n\nbody\n")
            // Nothing left behind in tmp/.
            #expect(opendirCount(user.home + "/Maildir/tmp") == 0)
        }
    }

    /// `lmtp_save_to_detail_mailbox`: the detail names the mailbox as IMAP clients write it, with their separator.
    @Test func detailIsWrittenWithTheClientsSeparator() throws {
        let root = makeTempDirectory("lmtp-detail")
        defer { removeTree(root) }
        let user = AuthenticatedUser(user: "u1", uid: 1500, gid: 1500, home: root)
        let store = { (_: AuthenticatedUser) in try MailStore(configuration: MailStoreConfiguration(root: root)) }
        try store(user).create("Lists/Dev")
        for detail in ["Lists.Dev", "Lists/Dev"] {
            let delivery = LMTPDelivery(
                sender: "", recipients: [LMTPRecipient(address: "u1+x@example.org", user: user, detail: detail)],
                message: Array("Subject: s\r\n\r\nbody\r\n".utf8))
            let replies = LMTPDeliverer.deliver(
                delivery, store: store, log: DiscardingLogSink(), sessionID: "s", separator: ".")
            #expect(replies.map(\.code) == [250])
        }
        // "Lists/Dev" is no name a client with separator "." could have made: it went to INBOX.
        #expect(try store(user).open("Lists/Dev").messages.count == 1)
        #expect(try store(user).open("INBOX").messages.count == 1)
    }
}

func opendirCount(_ path: String) -> Int {
    guard let dir = opendir(path) else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { count += 1 }
    }
    return count
}
