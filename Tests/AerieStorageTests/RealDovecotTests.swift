import AerieTestSupport
import Glibc
import Testing
@testable import AerieStorage

/// Migration against the real thing: Debian's Dovecot (../shared/peers/dovecot-anchor) assigns UIDs and flags through
/// IMAP, then Aerie opens the same Maildir. Runs only when AERIE_DOVECOT_TESTS=1, as root, with the anchor present.
@Suite struct RealDovecotTests {
    static let anchor = "/work/shared/peers/dovecot-anchor"
    static var enabled: Bool {
        getenv("AERIE_DOVECOT_TESTS").map { String(cString: $0) } == "1" && getuid() == 0 && FS.exists(anchor)
    }

    static let script = #"""
        import imaplib, json, sys
        out, port = sys.argv[1], int(sys.argv[2])
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login("test1", "pass")
        m.create("Entw&APw-rfe")
        m.subscribe("Entw&APw-rfe")
        for i, flags in enumerate(["(\\Seen)", "(\\Flagged $Work)", "()", "(\\Answered \\Seen)"]):
            m.append("INBOX", flags, None, ("Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)).encode())
        m.select("INBOX")
        typ, data = m.store("2", "+FLAGS", "(\\Deleted)")
        m.expunge()
        typ, data = m.status("INBOX", "(UIDVALIDITY UIDNEXT)")
        status = data[0].decode()
        typ, data = m.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)")
        msgs = [d.decode() if isinstance(d, bytes) else d[0].decode() for d in data]
        json.dump({"status": status, "messages": msgs}, open(out, "w"))
        m.logout()
        """#

    @Test(.enabled(if: RealDovecotTests.enabled)) func aerieReadsWhatDovecotWrote() throws {
        let dir = makeTempDirectory("storage-anchor")
        chmod(dir, 0o755)  // Dovecot drops to vmail and must reach DIR/mail
        // Ports of our own, away from any other anchor instance on this machine.
        let base = 20_000 + Int(getpid() % 400) * 100
        let env = "ANCHOR_USERS=2 ANCHOR_PORT_BASE=\(base)"
        defer {
            _ = system("\(env) \(Self.anchor) stop \(dir) >/dev/null 2>&1")
            removeTree(dir)
        }
        try #require(system("\(env) \(Self.anchor) start \(dir) > \(dir)/anchor.out 2>&1") == 0)
        writeText("\(dir)/client.py", Self.script)
        try #require(system("python3 \(dir)/client.py \(dir)/result.json \(base + 143)") == 0)
        _ = system("\(env) \(Self.anchor) stop \(dir) >/dev/null 2>&1")
        let result = readText("\(dir)/result.json") ?? ""

        let store = try MailStore(configuration: MailStoreConfiguration(root: "\(dir)/mail/test1"))
        let box = try store.open("INBOX")
        #expect(result.contains("UIDVALIDITY \(box.uidValidity)"))
        #expect(result.contains("UIDNEXT \(box.uidNext)"))
        #expect(box.messages.map(\.uid) == [1, 3, 4])
        #expect(box.messages[0].flags == MessageFlags(system: [.seen]))
        #expect(box.messages[1].flags == MessageFlags())
        #expect(box.messages[2].flags == MessageFlags(system: [.answered, .seen]))
        for message in box.messages {
            #expect(result.contains("UID \(message.uid) RFC822.SIZE \(message.virtualSize)") || result.contains("RFC822.SIZE \(message.virtualSize)"))
        }
        #expect(try store.list().map(\.name).contains("Entwürfe"))
        #expect(try store.subscriptions().contains("Entwürfe"))
        // And Aerie's append keeps the uidlist Dovecot's.
        let uid = try box.append(sampleMessage, flags: .init(system: [.seen]), internalDate: nil)
        #expect(uid == 5)
        #expect(UIDList.parse(try FS.readFile("\(dir)/mail/test1/dovecot-uidlist")!)?.nextUID == 6)
    }
}
