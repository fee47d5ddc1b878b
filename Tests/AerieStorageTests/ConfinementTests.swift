import AerieTestSupport
import Dispatch
import Glibc
import Synchronization
import Testing
@testable import AerieStorage

/// Issue 11 item 6: what someone who can write into a Maildir can leave there (symlinks, FIFOs, devices, files the
/// server cannot read) never reaches another user's mail, never blocks a thread and never fails the mailbox.
@Suite struct ConfinementTests {
    /// Another user's Maildir holding one message (in cur/, so its index, uidlist and keywords exist).
    struct Victim {
        let root: String
        let uid: UInt32
        let messagePath: String
        /// The files of the victim's INBOX and their contents, to show nothing changed.
        let snapshot: [String: [UInt8]]

        init() throws {
            root = makeTempDirectory("confine-victim")
            let store = try makeStore(root)
            let inbox = try store.open("INBOX")
            let flags = MessageFlags(system: .seen, keywords: ["$Secret"])
            uid = try inbox.append(sampleMessage, flags: flags, internalDate: nil)
            messagePath = inbox.path(of: uid)!
            snapshot = Self.files(root)
        }

        static func files(_ root: String) -> [String: [UInt8]] {
            var result: [String: [UInt8]] = [:]
            for name in ["dovecot-uidlist", "dovecot-keywords", "aerie.index"] {
                result[name] = (try? FS.readFile("\(root)/\(name)")) ?? nil
            }
            for dir in ["cur", "new"] {
                for name in names(in: "\(root)/\(dir)") {
                    result["\(dir)/\(name)"] = (try? FS.readFile("\(root)/\(dir)/\(name)")) ?? nil
                }
            }
            return result
        }

        /// Nothing changed since `snapshot` (by default: since the victim wrote its message).
        func expectUntouched(since snapshot: [String: [UInt8]]? = nil) {
            #expect(Self.files(root) == snapshot ?? self.snapshot)
            #expect(self.snapshot["cur/\(messagePath.split(separator: "/").last!)"] == sampleMessage)
        }
    }

    /// Runs `body` on another thread and waits for it; false when it is still blocked after `seconds` (a FIFO open
    /// that waits for a writer never returns at all, so any bound shows it). `release` unblocks such a thread.
    func finishes(within seconds: Int, release: () -> Void, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            body()
            done.signal()
        }
        if done.wait(timeout: .now() + .seconds(seconds)) == .success { return true }
        release()
        _ = done.wait(timeout: .now() + .seconds(seconds))
        return false
    }

    @Test(arguments: [MailboxLayout.maildirPlusPlus, .fs])
    func deleteOfASymlinkedMailboxRemovesTheLinkOnly(layout: MailboxLayout) throws {
        let victim = try Victim()
        defer { removeTree(victim.root) }
        let root = makeTempDirectory("confine-delete")
        defer { removeTree(root) }
        let store = try makeStore(root, layout: layout)
        let link = layout == .fs ? "\(root)/Shared" : "\(root)/.Shared"
        #expect(symlink(victim.root, link) == 0)

        // Followed for access, as Dovecot does with a linked-in shared folder.
        #expect(try store.list().map(\.name).contains("Shared"))
        #expect(try store.open("Shared").messages.map(\.uid) == [victim.uid])
        let accessed = Victim.files(victim.root)

        try store.delete("Shared")
        #expect(!FS.exists(link) && !FS.isSymlink(link))
        #expect(!(try store.list().map(\.name).contains("Shared")))
        victim.expectUntouched(since: accessed)
        #expect(try makeStore(victim.root).open("INBOX").read(uid: victim.uid) == sampleMessage)
    }

    @Test func removeTreeRemovesLinksAndNeverWhatTheyPointTo() throws {
        let victim = try Victim()
        defer { removeTree(victim.root) }
        let root = makeTempDirectory("confine-rmtree")
        defer { removeTree(root) }
        // A mailbox whose cur/ and one deeper level are links into the victim's Maildir.
        try FS.makeDirectories("\(root)/box/new/deeper")
        #expect(symlink("\(victim.root)/cur", "\(root)/box/cur") == 0)
        #expect(symlink(victim.root, "\(root)/box/new/deeper/link") == 0)
        try FS.removeTree("\(root)/box")
        #expect(!FS.exists("\(root)/box"))
        // A link given as the tree itself: only the link goes.
        #expect(symlink(victim.root, "\(root)/top") == 0)
        try FS.removeTree("\(root)/top")
        #expect(!FS.isSymlink("\(root)/top"))
        victim.expectUntouched()
    }

    @Test func symlinkedMessageFilesAreLeftOutOfTheView() throws {
        let victim = try Victim()
        defer { removeTree(victim.root) }
        let root = makeTempDirectory("confine-links")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let own = try store.open("INBOX").append(sampleMessage, flags: MessageFlags(), internalDate: nil)
        let links = [
            ("1700000001.M1P1.evil,S=10,W=11:2,S", "/etc/passwd"),
            ("1700000002.M2P1.evil", victim.messagePath),
            ("1700000003.M3P1.evil,S=10,W=11:2,", "/dev/zero"),
            ("1700000004.M4P1.evil", "/dev/zero"),
        ]
        for (name, target) in links { #expect(symlink(target, "\(root)/cur/\(name)") == 0) }

        let inbox = try store.open("INBOX")
        #expect(inbox.messages.map(\.uid) == [own])
        #expect(try inbox.read(uid: own) == sampleMessage)
        for (name, _) in links { #expect(StorageLog.wasReported("\(root)/cur/\(name)")) }
        // Reported once: a later sync or open does not log the same file again.
        #expect(!StorageLog.skipped("\(root)/cur/\(links[0].0)", "again"))
        victim.expectUntouched()
    }

    @Test func aMessageFileSwappedForASymlinkIsNotServed() throws {
        let victim = try Victim()
        defer { removeTree(victim.root) }
        let root = makeTempDirectory("confine-swap")
        defer { removeTree(root) }
        let inbox = try makeStore(root).open("INBOX")
        let uid = try inbox.append(sampleMessage, flags: MessageFlags(system: .seen), internalDate: nil)
        let path = inbox.path(of: uid)!
        for target in [victim.messagePath, "/etc/passwd", "/dev/zero"] {
            unlink(path)
            #expect(symlink(target, path) == 0)
            #expect(throws: StorageError.io(path: path, errno: ELOOP)) { _ = try inbox.read(uid: uid) }
            #expect(throws: StorageError.io(path: path, errno: ELOOP)) { _ = try inbox.read(uid: uid, atMost: 100) }
            #expect(throws: StorageError.io(path: path, errno: ELOOP)) { _ = try inbox.openMessage(uid: uid) }
        }
        victim.expectUntouched()
    }

    @Test func fifosInTheMailboxNeverBlockAThread() throws {
        let root = makeTempDirectory("confine-fifo")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let own = try store.open("INBOX").append(sampleMessage, flags: MessageFlags(system: .seen), internalDate: nil)
        let ownPath = try store.open("INBOX").path(of: own)!
        let fifos = ["\(root)/cur/1700000001.M1P1.fifo", "\(root)/new/1700000002.M2P1.fifo,S=5,W=6"]
        for fifo in fifos { #expect(mkfifo(fifo, 0o600) == 0) }
        func release() {
            for fifo in fifos + [ownPath] {
                let fd = open(fifo, O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd) }
            }
        }

        let opened = Mutex<[UInt32]?>(nil)
        let scanned = finishes(within: 30, release: release) {
            opened.withLock { $0 = try? store.open("INBOX").messages.map(\.uid) }
        }
        #expect(scanned)
        #expect(opened.withLock { $0 } == [own])

        // A message swapped for a FIFO after it was indexed: its read fails at once instead of waiting for a writer.
        let inbox = try store.open("INBOX")
        unlink(ownPath)
        #expect(mkfifo(ownPath, 0o600) == 0)
        let failure = Mutex<StorageError?>(nil)
        let returned = finishes(within: 30, release: release) {
            do throws(StorageError) { _ = try inbox.read(uid: own) } catch { failure.withLock { $0 = error } }
        }
        #expect(returned)
        #expect(failure.withLock { $0 } == .io(path: ownPath, errno: EINVAL))
    }

    @Test func readsStopAtTheSizeTheFileHad() throws {
        // A device is no file to read: nothing is read from it at all.
        if case .failure(.notRegular) = FS.openRegular("/dev/zero") {} else { Issue.record("/dev/zero opened") }
        #expect(try FS.readFile("/dev/zero") == nil)
        #expect(try FS.readFile("/dev/zero", atMost: 1 << 20) == nil)

        let root = makeTempDirectory("confine-size")
        defer { removeTree(root) }
        writeText("\(root)/file", "0123456789")
        guard case .success(let opened?) = FS.openRegular("\(root)/file") else {
            Issue.record("regular file not opened")
            return
        }
        // The file grows after it was opened: the read ends at the length fstat gave.
        let fd = open("\(root)/file", O_WRONLY | O_APPEND)
        _ = try FS.writeAll(fd, Array("abcdef".utf8), path: "\(root)/file")
        close(fd)
        #expect(try FS.read(opened, from: 0, path: "\(root)/file") == Array("0123456789".utf8))
    }

    @Test func metadataSymlinksAreReplacedNeverWrittenThrough() throws {
        let victim = try Victim()
        defer { removeTree(victim.root) }
        let root = makeTempDirectory("confine-meta")
        defer { removeTree(root) }
        _ = try makeStore(root)
        for name in ["dovecot-uidlist", "dovecot-keywords", "aerie.index", "aerie.cache"] {
            #expect(symlink("\(victim.root)/\(name)", "\(root)/\(name)") == 0)
        }
        let store = try makeStore(root)
        let inbox = try store.open("INBOX")
        #expect(inbox.messages.isEmpty)
        let uid = try inbox.append(sampleMessage, flags: MessageFlags(keywords: ["$Mine"]), internalDate: nil)
        #expect(try store.open("INBOX").messages.map(\.uid) == [uid])
        #expect(inbox.keywords == ["$Mine"])
        inbox.cache(.envelope, uid: uid, value: "(mine)")
        inbox.flushCache()
        for name in ["dovecot-uidlist", "dovecot-keywords", "aerie.index"] {
            #expect(!FS.isSymlink("\(root)/\(name)"), "\(name) still a link")
        }
        #expect(!FS.exists("\(victim.root)/aerie.cache"))
        victim.expectUntouched()
    }
}
