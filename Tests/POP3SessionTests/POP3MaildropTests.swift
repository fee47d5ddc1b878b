import AerieAuth
import AerieStorage
import AerieTestSupport
import Glibc
import POP3Protocol
import POP3Session
import Testing

/// A temp Maildir with three delivered messages, and a maildrop on it.
final class MaildropFixture {
    let root = makeTempDirectory("pop3-maildrop")
    let store: MailStore
    static let messages = [
        "From: a@example.com\nSubject: one\n\nhello\n.leading dot\n..two dots\nbye\n",
        "From: b@example.com\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
        "Subject: three\n\nno final newline",
    ]

    init() throws {
        store = try makeStore(root)
        for message in Self.messages { _ = try store.deliver(to: "INBOX", message: Array(message.utf8)) }
    }

    deinit { removeTree(root) }

    func maildrop() throws -> POP3Maildrop {
        try POP3Maildrop(user: demo, store: try makeStore(root), uidlFormat: "%08Xu%08Xv")
    }

    /// Runs a command and returns what it wrote and whether the connection closes.
    func run(_ drop: POP3Maildrop, _ line: String) throws -> (bytes: [UInt8], close: Bool) {
        let output = CollectingOutput()
        let close = drop.execute(try POP3Command.parse(Array(line.utf8)), output: output)
        return (output.bytes, close)
    }

    func text(_ drop: POP3Maildrop, _ line: String) throws -> String {
        String(decoding: try run(drop, line).bytes, as: UTF8.self)
    }

    func inbox() throws -> Mailbox { try makeStore(root).open("INBOX") }
}

@Suite struct POP3MaildropTests {
    @Test func statAndListSizesMatchWhatRetrSends() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        var total = 0
        var sizes: [Int] = []
        for number in 1...3 {
            let (status, body) = splitStatus(try fixture.run(drop, "RETR \(number)").bytes)
            let unstuffed = unstuff(body)
            let list = try fixture.text(drop, "LIST \(number)")
            #expect(list == "+OK \(number) \(unstuffed.count)\r\n" || number == 3)
            #expect(status.hasPrefix("+OK ") && status.hasSuffix(" octets"))
            sizes.append(Int(status.split(separator: " ")[1])!)
            total += sizes.last!
            if number < 3 { #expect(sizes.last == unstuffed.count) }
        }
        // Message 3 has no final newline: RETR ends its last line, which the size (of the stored message) does not count.
        #expect(sizes[2] + 2 == unstuff(splitStatus(try fixture.run(drop, "RETR 3").bytes).body).count)
        #expect(try fixture.text(drop, "STAT") == "+OK 3 \(total)\r\n")
        #expect(
            try fixture.text(drop, "LIST")
                == "+OK 3 messages:\r\n1 \(sizes[0])\r\n2 \(sizes[1])\r\n3 \(sizes[2])\r\n.\r\n")
    }

    @Test func retrDotStuffsAndNormalisesLineEnds() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        let text = try fixture.text(drop, "RETR 1")
        #expect(
            text == "+OK 75 octets\r\nFrom: a@example.com\r\nSubject: one\r\n\r\nhello\r\n..leading dot\r\n...two dots\r\nbye\r\n.\r\n")
        #expect(try fixture.text(drop, "RETR 3").hasSuffix("\r\nno final newline\r\n.\r\n"))
    }

    @Test func topSendsHeaderAndRequestedLines() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        #expect(try fixture.text(drop, "TOP 2 0") == "+OK\r\nFrom: b@example.com\r\nSubject: two\r\n\r\n.\r\n")
        #expect(
            try fixture.text(drop, "TOP 2 2") == "+OK\r\nFrom: b@example.com\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\n.\r\n")
        #expect(try fixture.text(drop, "TOP 1 2") == "+OK\r\nFrom: a@example.com\r\nSubject: one\r\n\r\nhello\r\n..leading dot\r\n.\r\n")
        #expect(try fixture.text(drop, "TOP 9 1") == "-ERR There's no message 9.\r\n")
    }

    @Test func deleRsetAndQuitExpunge() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        #expect(try fixture.text(drop, "DELE 2") == "+OK Marked to be deleted.\r\n")
        #expect(try fixture.text(drop, "RETR 2") == "-ERR Message is deleted.\r\n")
        #expect(try fixture.text(drop, "DELE 2") == "-ERR Message is deleted.\r\n")
        #expect(try fixture.text(drop, "LIST").hasPrefix("+OK 2 messages:\r\n1 "))
        #expect(try fixture.text(drop, "STAT").hasPrefix("+OK 2 "))
        #expect(try fixture.text(drop, "RSET") == "+OK\r\n")
        #expect(try fixture.text(drop, "STAT").hasPrefix("+OK 3 "))
        #expect(try fixture.text(drop, "RETR 2").hasPrefix("+OK "))
        _ = try fixture.run(drop, "DELE 1")
        _ = try fixture.run(drop, "DELE 3")
        // Nothing is deleted before QUIT, even for another session.
        #expect(try fixture.inbox().messages.count == 3)
        let quit = try fixture.run(drop, "QUIT")
        #expect(String(decoding: quit.bytes, as: UTF8.self) == "+OK Logging out, messages deleted.\r\n")
        #expect(quit.close)
        let left = try fixture.inbox().messages
        #expect(left.count == 1)
        // RETR 2 marked it \Seen at QUIT.
        #expect(left.first?.flags.system.contains(.seen) == true)
        #expect(try String(decoding: fixture.inbox().read(uid: left[0].uid), as: UTF8.self).contains("Subject: two"))
        #expect(drop.logoutStatistics.hasPrefix("top=0/0, retr=1/"))
        #expect(drop.logoutStatistics.contains("del=2/3"))
    }

    @Test func droppedWithoutQuitDeletesNothing() throws {
        let fixture = try MaildropFixture()
        do {
            let drop = try fixture.maildrop()
            _ = try fixture.run(drop, "DELE 1")
            _ = try fixture.run(drop, "DELE 2")
            _ = try fixture.run(drop, "RETR 3")
        }
        let messages = try fixture.inbox().messages
        #expect(messages.count == 3)
        #expect(messages.allSatisfy { !$0.flags.system.contains(.deleted) && !$0.flags.system.contains(.seen) })
    }

    @Test func connectionClosedKeepsSeenButNotDeletions() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        _ = try fixture.run(drop, "DELE 1")
        _ = try fixture.run(drop, "RETR 3")
        drop.connectionClosed()
        let messages = try fixture.inbox().messages
        #expect(messages.count == 3)
        #expect(messages.map { $0.flags.system.contains(.seen) } == [false, false, true])
    }

    @Test func quitWithoutDeletions() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        #expect(try fixture.text(drop, "QUIT") == "+OK Logging out.\r\n")
        #expect(try fixture.inbox().messages.count == 3)
    }

    @Test func uidlIsDovecotsDefault() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        let inbox = try fixture.inbox()
        let expected = inbox.messages.map {
            POP3UIDL.format("%08Xu%08Xv", uidValidity: inbox.uidValidity, uid: $0.uid, guid: nil, md5: nil, fileName: nil)
        }
        #expect(expected[0] == String(format8(inbox.messages[0].uid)) + format8(inbox.uidValidity))
        #expect(
            try fixture.text(drop, "UIDL") == "+OK\r\n1 \(expected[0])\r\n2 \(expected[1])\r\n3 \(expected[2])\r\n.\r\n")
        #expect(try fixture.text(drop, "UIDL 2") == "+OK 2 \(expected[1])\r\n")
        _ = try fixture.run(drop, "DELE 1")
        #expect(try fixture.text(drop, "UIDL") == "+OK\r\n2 \(expected[1])\r\n3 \(expected[2])\r\n.\r\n")
        #expect(try fixture.text(drop, "UIDL 1") == "-ERR Message is deleted.\r\n")
    }

    @Test func snapshotIgnoresLaterDeliveries() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        _ = try fixture.store.deliver(to: "INBOX", message: Array("Subject: late\n\nx\n".utf8))
        #expect(try fixture.text(drop, "STAT").hasPrefix("+OK 3 "))
        #expect(try fixture.text(drop, "RETR 4") == "-ERR There's no message 4.\r\n")
    }

    @Test func capaAndNoopInTransaction() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        #expect(try fixture.text(drop, "NOOP") == "+OK\r\n")
        let capa = try fixture.text(drop, "CAPA")
        #expect(capa.hasPrefix("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\n"))
        #expect(!capa.contains("STLS") && !capa.contains("USER") && !capa.contains("SASL"))
    }

    @Test func largeMessageStreamsInChunks() throws {
        let fixture = try MaildropFixture()
        let line = String(repeating: "x", count: 99) + "\n"
        let big = "Subject: big\n\n" + String(repeating: line, count: 2000) + ".\n"
        _ = try fixture.store.deliver(to: "INBOX", message: Array(big.utf8))
        let drop = try fixture.maildrop()
        final class Counting: POP3Output, @unchecked Sendable {
            var sends = 0
            var bytes: [UInt8] = []
            func send(_ bytes: [UInt8]) { sends += 1; self.bytes += bytes }
        }
        let output = Counting()
        #expect(!drop.execute(.retr(4), output: output))
        #expect(output.sends > 3)
        let (status, body) = splitStatus(output.bytes)
        #expect(status == "+OK \(unstuff(body).count) octets")
        #expect(String(decoding: body, as: UTF8.self).hasSuffix("x\r\n..\r\n.\r\n"))
    }

    @Test func openFailureReplies() {
        #expect(
            String(decoding: POP3Maildrop.openFailureReply(.lockTimeout("/x")), as: UTF8.self).hasPrefix("-ERR [IN-USE] "))
        #expect(
            String(decoding: POP3Maildrop.openFailureReply(.io(path: "/x", errno: 5)), as: UTF8.self).hasPrefix(
                "-ERR [SYS/TEMP] "))
    }
}

func format8(_ value: UInt32) -> String {
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
}

/// RETR n+1 after RETR n is answered from the copy read ahead: the same bytes, the same bookkeeping.
@Suite struct ReadAheadTests {
    func command(_ line: String) throws -> POP3Command { try POP3Command.parse(Array(line.utf8)) }

    @Test func theNextRetrIsAnsweredFromMemoryWithTheSameBytes() throws {
        let fixture = try MaildropFixture()
        let fromDisk = try fixture.maildrop()
        let expected = try fixture.run(fromDisk, "RETR 2").bytes
        let drop = try fixture.maildrop()
        _ = try fixture.run(drop, "RETR 1")
        drop.readAhead(after: try command("RETR 1"))
        // The file goes away (another process expunged it): the copy read ahead is still the message.
        let inbox = try fixture.inbox()
        _ = try inbox.store(uids: [inbox.messages[1].uid], flags: .init(system: [.deleted]), mode: .add, unchangedSince: nil)
        #expect(try inbox.expunge(uids: nil).count == 1)
        let output = CollectingOutput()
        #expect(drop.answerFromReadAhead(try command("RETR 2"), output: output))
        #expect(output.bytes == expected)
        // Counted as retrieved: QUIT's statistics say two RETRs.
        #expect(drop.logoutStatistics.hasPrefix("top=0/0, retr=2/"))
    }

    @Test func onlyTheNextLiveMessageIsAnswered() throws {
        let fixture = try MaildropFixture()
        let drop = try fixture.maildrop()
        drop.readAhead(after: try command("RETR 1"))
        let output = CollectingOutput()
        #expect(!drop.answerFromReadAhead(try command("RETR 3"), output: output))
        #expect(!drop.answerFromReadAhead(try command("TOP 2 1"), output: output))
        _ = try fixture.run(drop, "DELE 2")
        #expect(!drop.answerFromReadAhead(try command("RETR 2"), output: output))
        #expect(output.bytes.isEmpty)
        // The last message has nothing after it; an out-of-range RETR reads nothing.
        drop.readAhead(after: try command("RETR 3"))
        drop.readAhead(after: try command("RETR 99"))
        #expect(!drop.answerFromReadAhead(try command("RETR 4"), output: output))
    }

    @Test func aFileLargerThanItsNameSaysIsNotReadAheadAndRetrSendsItWhole() throws {
        let fixture = try MaildropFixture()
        let inbox = try fixture.inbox()
        let uid = inbox.messages[1].uid
        // Another program grew message 2 in place: its name's S= still says the size it was delivered with.
        let opened = try #require(try inbox.openMessage(uid: uid))
        close(opened.fd)
        let grown = Array(MaildropFixture.messages[1].utf8) + Array(String(repeating: "y\r\n", count: 40_000).utf8)
        let fd = open(opened.path, O_WRONLY | O_TRUNC)
        #expect(fd >= 0)
        #expect(grown.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == grown.count)
        close(fd)
        // The read-ahead bound is 64 KiB; what the name says is below it, what the file holds above.
        let limit = 64 * 1024
        #expect(try fixture.inbox().messages[1].size < limit && grown.count > limit)
        #expect(try inbox.read(uid: uid, atMost: limit + 1)?.count == limit + 1)

        let drop = try fixture.maildrop()
        _ = try fixture.run(drop, "RETR 1")
        drop.readAhead(after: try command("RETR 1"))
        let output = CollectingOutput()
        #expect(!drop.answerFromReadAhead(try command("RETR 2"), output: output))
        #expect(output.bytes.isEmpty)
        let (status, body) = splitStatus(try fixture.run(drop, "RETR 2").bytes)
        #expect(status.hasPrefix("+OK "))
        #expect(unstuff(body) == grown)
    }
}
