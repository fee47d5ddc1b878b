import AerieTestSupport
import Glibc
import Testing
@testable import AerieStorage

/// A Maildir written by hand exactly as Dovecot 2.3 leaves it.
@Suite struct DovecotFixtureTests {
    static let header = "3 V1700000000 N5 G3085f01b7f11094c501100008c4a11c1"
    static let files = [
        ("cur", "1699999990.M100P1000.mail,S=100,W=104:2,S"),
        ("cur", "1699999991.M200P1000.mail,S=200,W=210:2,FRSa"),
        ("cur", "1699999993.M400P1000.mail,S=50,W=52:2,"),
        ("new", "1699999995.M500P1000.mail,S=10,W=11"),
    ]

    func makeFixture() -> String {
        let root = makeTempDirectory("storage-dovecot")
        for sub in ["cur", "new", "tmp"] { mkdir("\(root)/\(sub)", 0o700) }
        writeText("\(root)/dovecot-uidlist", """
            \(Self.header)
            1 :1699999990.M100P1000.mail,S=100,W=104
            2 G5d1a2b3c4d5e6f708192a3b4c5d6e7f8 :1699999991.M200P1000.mail,S=200,W=210
            3 :1699999992.M300P1000.mail,S=30,W=31
            4 :1699999993.M400P1000.mail,S=50,W=52

            """)
        writeText("\(root)/dovecot-keywords", "0 Junk\n1 $Label1\n")
        writeText("\(root)/subscriptions", "V\t2\n\nINBOX\nArchive\t2023\n")
        for (dir, name) in Self.files { writeText("\(root)/\(dir)/\(name)", "Subject: x\n\nbody\n") }
        return root
    }

    @Test func readsDovecotTreeUnchanged() throws {
        let root = makeFixture()
        defer { removeTree(root) }
        let store = try makeStore(root)
        #expect(try store.subscriptions() == ["INBOX", "Archive/2023"])
        let box = try store.open("INBOX")
        #expect(box.uidValidity == 1_700_000_000)
        // UIDs 1, 2, 4 kept; the file only in new/ gets N (5); line 3 has no file and is simply expunged.
        #expect(box.messages.map(\.uid) == [1, 2, 4, 5])
        #expect(box.messages[0].flags == MessageFlags(system: [.seen]))
        #expect(box.messages[1].flags == MessageFlags(system: [.flagged, .answered, .seen], keywords: ["Junk"]))
        #expect(box.messages[1].size == 200 && box.messages[1].virtualSize == 210)
        #expect(box.messages[2].flags == MessageFlags())
        #expect(box.uidNext == 6)

        // Append; the uidlist must still be Dovecot's format, header and old lines untouched.
        let uid = try box.append(sampleMessage, flags: .init(system: [.seen], keywords: ["$Label1"]), internalDate: nil)
        #expect(uid == 6)
        let text = readText("\(root)/dovecot-uidlist")!
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == Self.header)
        #expect(lines[2] == "2 G5d1a2b3c4d5e6f708192a3b4c5d6e7f8 :1699999991.M200P1000.mail,S=200,W=210")
        #expect(lines.contains("5 :1699999995.M500P1000.mail,S=10,W=11"))
        let appended = MaildirFileName(box.path(of: uid)!.split(separator: "/").last.map(String.init)!)
        #expect(lines.contains("6 :\(appended.base)"))
        #expect(appended.info == "Sb")
        #expect(text.hasSuffix("\n"))
        let reparsed = UIDList.parse(Array(text.utf8))!
        #expect(reparsed.uidValidity == 1_700_000_000)
        #expect(reparsed.guid == "3085f01b7f11094c501100008c4a11c1")
        #expect(reparsed.nextUID == 7)
        #expect(reparsed.entry(forBase: "1699999991.M200P1000.mail,S=200,W=210")?.extensions == ["G5d1a2b3c4d5e6f708192a3b4c5d6e7f8"])
        #expect(readText("\(root)/dovecot-keywords") == "0 Junk\n1 $Label1\n")
    }

    @Test func readsVersion1UIDList() {
        let list = UIDList.parse(Array("1 1234 10\n3 1699.M1P1.host:2,S\n7 1700.M2P1.host\n".utf8))!
        #expect(list.uidValidity == 1234 && list.nextUID == 10)
        #expect(list.entries.map(\.uid) == [3, 7])
        #expect(list.uid(forBase: "1699.M1P1.host") == 3)
    }

    @Test func tornLastLineIsIgnoredAndRepaired() throws {
        let list = UIDList.parse(Array("3 V1 N3 G00\n1 :a\n2 :b-partial".utf8))!
        #expect(list.entries.map(\.uid) == [1])
        #expect(list.damaged)
    }

    @Test func staleLockOfDeadProcessIsOverridden() throws {
        let root = makeFixture()
        defer { removeTree(root) }
        // A crashed writer: pid that cannot exist on this host.
        writeText("\(root)/dovecot-uidlist.lock", "999999999:\(FS.hostName)")
        var st = [timespec(tv_sec: time(nil) - 5, tv_nsec: 0), timespec(tv_sec: time(nil) - 5, tv_nsec: 0)]
        utimensat(AT_FDCWD, "\(root)/dovecot-uidlist.lock", &st, 0)
        var config = MailStoreConfiguration(root: root, fsync: false)
        config.lockTimeoutSeconds = 1
        let store = try MailStore(configuration: config)
        #expect(try store.open("INBOX").messages.count == 4)
        #expect(!FS.exists("\(root)/dovecot-uidlist.lock"))

        // A live holder makes us time out instead.
        writeText("\(root)/dovecot-uidlist.lock", "\(getpid()):\(FS.hostName)")
        writeText("\(root)/new/1700000000.M1P2.other", "x\n")
        #expect(throws: StorageError.lockTimeout("\(root)/dovecot-uidlist.lock")) { try store.open("INBOX") }
        unlink("\(root)/dovecot-uidlist.lock")
    }
}

@Suite struct IndexTests {
    @Test func openWithFreshIndexReadsNoMessageFile() throws {
        let root = makeTempDirectory("storage-index")
        defer { removeTree(root) }
        let store = try makeStore(root)
        // 20,000 files as an MDA would leave them (with S= and W=), then one open builds uidlist and index.
        let count = 20_000
        for n in 0..<count {
            let fd = open("\(root)/cur/\(1_700_000_000 + n).M\(n)P1.host,S=10,W=11:2,S", O_WRONLY | O_CREAT | O_EXCL, 0o600)
            close(fd)
        }
        StorageTestHooks.watch(root)
        let opensBefore = StorageTestHooks.count(.messageFileOpen, under: root)
        let first = try store.open("INBOX")
        #expect(first.messages.count == count)
        #expect(first.messages.last?.uid == UInt32(count))
        // Names carry S= and W=: the rebuild needed no message reads either.
        #expect(StorageTestHooks.count(.messageFileOpen, under: root) == opensBefore)

        // Make the directory mtimes old enough to trust, as in a real mailbox, and let one scan record them.
        ageDirectories(root)
        _ = try first.sync()

        let statsBefore = StorageTestHooks.count(.messageFileStat, under: root)
        let scansBefore = StorageTestHooks.count(.directoryScan, under: root)
        let second = try store.open("INBOX")
        #expect(second.messages.count == count)
        #expect(second.messages.map(\.uid) == first.messages.map(\.uid))
        #expect(StorageTestHooks.count(.messageFileStat, under: root) == statsBefore)
        #expect(StorageTestHooks.count(.directoryScan, under: root) == scansBefore)

        // A file added externally makes the index stale: one scan, one new UID.
        writeText("\(root)/new/1800000000.M1P2.mda,S=3,W=4", "hi\n")
        let changes = try second.sync()
        #expect(changes.added.map(\.uid) == [UInt32(count + 1)])
        #expect(StorageTestHooks.count(.directoryScan, under: root) > scansBefore)
    }

    @Test func reopeningSharesTheEngineAndDeliveriesDoNotScan() throws {
        let root = makeTempDirectory("storage-shared")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let first = try store.open("INBOX")
        for _ in 0..<3 { _ = try first.append(sampleMessage, flags: .init(), internalDate: nil) }
        ageDirectories(root)
        _ = try first.sync()
        StorageTestHooks.watch(root)
        let reads = StorageTestHooks.count(.indexRead, under: root)
        let scans = StorageTestHooks.count(.directoryScan, under: root)

        // Another session (another MailStore object, as another login gets) opens it: nothing is read again.
        let second = try makeStore(root).open("INBOX")
        #expect(second.messages.map(\.uid) == [1, 2, 3])
        #expect(StorageTestHooks.count(.indexRead, under: root) == reads)
        #expect(StorageTestHooks.count(.directoryScan, under: root) == scans)

        // Deliveries (LMTP) write without scanning the Maildir; the open sessions see them at their next sync.
        for _ in 0..<5 { _ = try store.deliver(to: "INBOX", message: sampleMessage) }
        #expect(StorageTestHooks.count(.directoryScan, under: root) == scans)
        #expect(try first.sync().added.map(\.uid) == [4, 5, 6, 7, 8])
        #expect(try second.sync().added.map(\.uid) == [4, 5, 6, 7, 8])
        #expect(UIDList.parse(Array(readText("\(root)/dovecot-uidlist")!.utf8))?.entries.map(\.uid) == Array(1...8))
    }

    /// After our own write the directories' mtimes are ours: the syncs that follow do not list cur/ again (for a big
    /// mailbox that listing is most of a command's time), and another process's change moves the mtime and is found at
    /// once. The window is an hour here, so a slow run cannot make the verifying listing fall due in between.
    @Test func ownWritesAreNotListedAgainButForeignChangesAreFound() throws {
        let root = makeTempDirectory("storage-own-writes")
        defer { removeTree(root) }
        var configuration = MailStoreConfiguration(root: root, fsync: false)
        configuration.syncWindowNs = 3_600_000_000_000
        let store = try MailStore(configuration: configuration)
        let box = try store.open("INBOX")
        for _ in 0..<3 { _ = try box.append(sampleMessage, flags: .init(system: [.seen]), internalDate: nil) }
        var past = [timespec(tv_sec: time(nil) - 7200, tv_nsec: 0), timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)]
        for dir in ["cur", "new"] { utimensat(AT_FDCWD, "\(root)/\(dir)", &past, 0) }
        _ = try box.sync()
        StorageTestHooks.watch(root)
        let scans = StorageTestHooks.count(.directoryScan, under: root)
        let other = try MailStore(configuration: configuration).open("INBOX")

        _ = try box.store(uids: [1], flags: .init(system: [.flagged]), mode: .add, unchangedSince: nil)
        _ = try store.deliver(to: "INBOX", message: sampleMessage)
        for _ in 0..<3 { _ = try other.sync() }
        #expect(other.messages.map(\.uid) == [1, 2, 3, 4])
        #expect(other.messages[0].flags.system == [.seen, .flagged])
        #expect(StorageTestHooks.count(.directoryScan, under: root) == scans)

        // Another process (Dovecot, an MUA on the Maildir) flags message 2 by renaming its file. (On a kernel without
        // fine-grained directory timestamps a change within the same few ms as ours would show only a second later.)
        usleep(20_000)
        let name = try #require(names(in: "\(root)/cur").first { $0 == box.messages[1].fileName })
        #expect(rename("\(root)/cur/\(name)", "\(root)/cur/\(name)F") == 0)
        let changes = try other.sync()
        #expect(changes.flagsChanged.map(\.uid) == [2])
        #expect(StorageTestHooks.count(.directoryScan, under: root) == scans + 1)
    }

    /// A directory listed less than the window after its last change is verified by one listing once the window has
    /// passed; from then on it is trusted and not listed again (default window: one second).
    @Test func aRecentDirectoryIsVerifiedOnceAndThenTrusted() throws {
        let root = makeTempDirectory("storage-verify")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        _ = try box.append(sampleMessage, flags: .init(system: [.seen]), internalDate: nil)
        StorageTestHooks.watch(root)
        // However slow the run, a second on the append's directories are neither trusted nor provisionally known any
        // longer: the next sync lists them, once.
        usleep(1_100_000)
        let before = StorageTestHooks.count(.directoryScan, under: root)
        _ = try box.sync()
        let verified = StorageTestHooks.count(.directoryScan, under: root)
        #expect(verified == before + 1)
        for _ in 0..<3 { _ = try box.sync() }
        #expect(StorageTestHooks.count(.directoryScan, under: root) == verified)
    }

    @Test func externalChangesAreFoundWhenOnlyOneDirectoryMoved() throws {
        let root = makeTempDirectory("storage-partial")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        for n in 0..<4 { _ = try box.append(sampleMessage, flags: .init(system: n < 2 ? [.seen] : []), internalDate: nil) }
        func age() {
            ageDirectories(root)
            _ = try? box.sync()
        }
        age()
        // An MDA drops a file into new/ (cur/ untouched): it gets the next UID.
        writeText("\(root)/new/1800000000.M1P2.mda,S=3,W=4", "hi\n")
        #expect(try box.sync().added.map(\.uid) == [5])
        age()
        // Another process moves a message from new/ to cur/ with \Seen: same UID, new flags, nothing expunged.
        let inNew = try #require(FS.listDirectory("\(root)/new")?.first { $0.name.hasPrefix("1800000000") })
        rename("\(root)/new/\(inNew.name)", "\(root)/cur/\(inNew.name):2,S")
        var changes = try box.sync()
        #expect(changes.expunged.isEmpty && changes.added.isEmpty)
        #expect(changes.flagsChanged.map(\.uid) == [5])
        #expect(box.messages.last?.flags.system.contains(.seen) == true)
        age()
        // Another process deletes a file from cur/: reported as expunged, the others stay.
        let victim = try #require(box.messages.first)
        unlink("\(root)/cur/\(victim.fileName)")
        changes = try box.sync()
        #expect(changes.expunged == [victim.uid])
        #expect(box.messages.map(\.uid) == [2, 3, 4, 5])
    }

    @Test func deletedIndexIsRebuiltWithSameUIDs() throws {
        let root = makeTempDirectory("storage-rebuild")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        for n in 0..<5 { _ = try box.append(sampleMessage, flags: .init(system: n % 2 == 0 ? [.seen] : []), internalDate: 1_600_000_000 + Int64(n)) }
        _ = try box.expunge(uids: nil)
        _ = try box.sync()
        let before = box.messages
        let modSeq = box.highestModSeq
        unlink("\(root)/aerie.index")
        EngineCache.shared.removeAll(under: root)  // as a restarted server: nothing of the index left in memory either
        let reopened = try store.open("INBOX")
        #expect(reopened.messages.map(\.uid) == before.map(\.uid))
        #expect(reopened.messages.map(\.flags) == before.map(\.flags))
        #expect(reopened.messages.map(\.internalDate) == before.map(\.internalDate))
        #expect(reopened.highestModSeq > modSeq)  // never goes backwards after a rebuild
        #expect(reopened.expungedSince(modSeq: modSeq) == nil)  // history was lost with the index
        #expect(FS.exists("\(root)/aerie.index"))
    }

    @Test func indexPathKeepsIndexOutsideMaildir() throws {
        let root = makeTempDirectory("storage-idxroot")
        defer { removeTree(root) }
        let store = try MailStore(configuration: MailStoreConfiguration(root: "\(root)/Maildir", indexPath: "\(root)/index", fsync: false))
        try store.create("Sent")
        _ = try store.deliver(to: "Sent", message: sampleMessage)
        #expect(FS.exists("\(root)/index/.Sent/aerie.index"))
        #expect(!FS.exists("\(root)/Maildir/.Sent/aerie.index"))
    }
}
