import AerieStorage
import AerieTestSupport
import Glibc
import Testing

@Suite struct CrossSessionTests {
    /// Two sessions (two stores, as two connections have) on one Maildir: one appends, the other's sync sees it.
    @Test func appendInOneSessionIsSeenBySyncInAnother() throws {
        let root = makeTempDirectory("storage-cross")
        defer { removeTree(root) }
        let first = try makeStore(root)
        let second = try makeStore(root)
        _ = try first.deliver(to: "INBOX", message: Array("Subject: one\n\nbody\n".utf8))
        let a = try first.open("INBOX")
        let b = try second.open("INBOX")
        #expect(a.messages.count == 1)
        let uid = try b.append(Array("Subject: two\n\nbody\n".utf8), flags: MessageFlags(), internalDate: nil)
        let changes = try a.sync()
        #expect(changes.added.map(\.uid) == [uid])
        #expect(a.messages.count == 2)
    }
}

@Suite struct CrossSessionAfterQuietTests {
    /// Directory mtimes older than a second are trusted; another session's append must still be seen.
    @Test(arguments: [MailboxLayout.maildirPlusPlus, .fs])
    func appendAfterTheMailboxWasQuietIsSeen(layout: MailboxLayout) throws {
        let root = makeTempDirectory("storage-quiet")
        defer { removeTree(root) }
        let first = try makeStore(root, layout: layout, fsync: true)
        let second = try makeStore(root, layout: layout, fsync: true)
        _ = try first.deliver(to: "INBOX", message: Array("Subject: one\n\nbody\n".utf8))
        let a = try first.open("INBOX")
        usleep(1_200_000)
        _ = try a.sync()
        let b = try second.open("INBOX")
        let uid = try b.append(Array("Subject: two\n\nbody\n".utf8), flags: MessageFlags(), internalDate: nil)
        let changes = try a.sync()
        #expect(changes.added.map(\.uid) == [uid])
        let third = try makeStore(root, layout: layout, fsync: true).open("INBOX")
        #expect(third.messages.count == 2)
    }
}
