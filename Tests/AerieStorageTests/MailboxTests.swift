import AerieTestSupport
import Glibc
import Testing
@testable import AerieStorage

@Suite struct MailboxTests {
    @Test func appendWritesDovecotNamesUIDListAndKeywords() throws {
        let root = makeTempDirectory("storage-append")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let inbox = try store.open("INBOX")
        let uid1 = try inbox.append(sampleMessage, flags: .init(system: [.seen, .flagged], keywords: ["$Forwarded"]), internalDate: 1_600_000_000)
        let uid2 = try inbox.append(sampleMessage, flags: .init(), internalDate: nil)
        #expect((uid1, uid2) == (1, 2))
        let size = sampleMessage.count
        let vsize = size + sampleMessage.filter { $0 == 0x0A }.count
        let cur = names(in: "\(root)/cur")
        #expect(cur.count == 1)
        #expect(cur[0].hasSuffix(",S=\(size),W=\(vsize):2,FSa"))
        #expect(cur[0].contains(".M"))
        #expect(FS.stat("\(root)/cur/\(cur[0])")!.mtimeSeconds == 1_600_000_000)
        let new = names(in: "\(root)/new")
        #expect(new.count == 1 && new[0].hasSuffix(",S=\(size),W=\(vsize)"))
        #expect(names(in: "\(root)/tmp").isEmpty)
        #expect(readText("\(root)/dovecot-keywords") == "0 $Forwarded\n")

        let lines = readText("\(root)/dovecot-uidlist")!.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].wholeMatch(of: /3 V\d+ N\d+ G[0-9a-f]{32}/) != nil)
        #expect(lines[1] == "1 :\(MaildirFileName(cur[0]).base)")
        #expect(lines[2] == "2 :\(new[0])")
        let parsed = UIDList.parse(Array(readText("\(root)/dovecot-uidlist")!.utf8))!
        #expect(parsed.nextUID == 3)
        #expect(parsed.entries.map(\.uid) == [1, 2])

        let changes = try inbox.sync()
        #expect(changes.added.map(\.uid) == [1, 2])
        #expect(inbox.messages[0].flags == MessageFlags(system: [.seen, .flagged], keywords: ["$forwarded"]))
        #expect(inbox.messages[0].internalDate == 1_600_000_000)
        #expect(inbox.messages[0].virtualSize == vsize)
        #expect(try inbox.read(uid: 2) == sampleMessage)
        #expect(FS.stat(root)!.isDirectory)
    }

    /// Flags live in the file names as letters; the letters' keywords in dovecot-keywords. When another process
    /// rewrites that table, open views report the changed flags although no file was renamed (no new modseq).
    @Test func keywordTableRewrittenElsewhereChangesTheFlagsOfOpenViews() throws {
        let root = makeTempDirectory("storage-keyword-table")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let inbox = try store.open("INBOX")
        _ = try inbox.append(sampleMessage, flags: .init(system: [.seen], keywords: ["Junk"]), internalDate: nil)
        // Directories a minute old are trusted: the next syncs need no listing of cur/ (the usual case).
        ageDirectories(root)
        let other = try store.open("INBOX")
        #expect(other.messages.map(\.flags.keywords) == [["Junk"]])
        writeText("\(root)/dovecot-keywords", "0 NotJunk\n")
        let changes = try other.sync()
        #expect(changes.flagsChanged.map(\.uid) == [1])
        #expect(other.messages[0].flags == MessageFlags(system: [.seen], keywords: ["NotJunk"]))
        #expect(try store.open("INBOX").messages[0].flags.keywords == ["NotJunk"])
    }

    @Test func modesAndPermissions() throws {
        let root = makeTempDirectory("storage-modes")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.create("Sent")
        _ = try store.deliver(to: "Sent", message: sampleMessage, flags: .init(system: [.seen]))
        func mode(_ path: String) -> mode_t {
            var st = stat()
            _ = stat(path, &st)
            return st.st_mode & 0o777
        }
        #expect(mode("\(root)/.Sent") == 0o700)
        #expect(mode("\(root)/.Sent/cur") == 0o700)
        let file = names(in: "\(root)/.Sent/cur")[0]
        #expect(mode("\(root)/.Sent/cur/\(file)") == 0o600)
        #expect(mode("\(root)/.Sent/dovecot-uidlist") == 0o600)
    }

    @Test func uidsStableAcrossReopenAndExternalChanges() throws {
        let root = makeTempDirectory("storage-external")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        for _ in 0..<3 { _ = try box.append(sampleMessage, flags: .init(), internalDate: nil) }
        _ = try box.sync()
        let reopened = try store.open("INBOX")
        #expect(reopened.messages.map(\.uid) == [1, 2, 3])
        #expect(reopened.uidValidity == box.uidValidity)

        // Another process (an MDA) drops a file into new/; another deletes one.
        writeText("\(root)/new/1700000001.M1P99.othermda", "Subject: external\n\nbody\n")
        unlink(box.path(of: 2)!)
        let changes = try box.sync()
        #expect(changes.added.map(\.uid) == [4])
        #expect(changes.added[0].size == 24 && changes.added[0].virtualSize == 27)
        #expect(changes.expunged == [2])
        #expect(box.messages.map(\.uid) == [1, 3, 4])
        #expect(readText("\(root)/dovecot-uidlist")!.contains("4 :1700000001.M1P99.othermda\n"))
        #expect(try box.sync().isEmpty)
    }

    @Test func storeRenamesAndBumpsModSeq() throws {
        let root = makeTempDirectory("storage-store")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        let uid = try box.append(sampleMessage, flags: .init(), internalDate: nil)
        _ = try box.sync()
        let before = box.highestModSeq
        let (changed, failed) = try box.store(uids: [uid], flags: .init(system: [.seen], keywords: ["Work"]), mode: .add, unchangedSince: nil)
        #expect(failed.isEmpty)
        #expect(changed.count == 1 && changed[0].modSeq > before)
        #expect(box.highestModSeq == changed[0].modSeq)
        #expect(names(in: "\(root)/new").isEmpty)
        #expect(names(in: "\(root)/cur")[0].hasSuffix(":2,Sa"))
        // UNCHANGEDSINCE older than the message's modseq fails (RFC 7162).
        let conditional = try box.store(uids: [uid], flags: .init(system: [.seen]), mode: .remove, unchangedSince: before)
        #expect(conditional.failedModified == [uid] && conditional.changed.isEmpty)
        let removed = try box.store(uids: [uid], flags: .init(keywords: ["work"]), mode: .remove, unchangedSince: nil)
        #expect(removed.changed[0].flags == MessageFlags(system: [.seen]))
        #expect(removed.changed[0].modSeq > changed[0].modSeq)
        #expect(try box.sync().isEmpty)  // own changes are not reported again

        // A second session sees the change as a flag update.
        let other = try store.open("INBOX")
        _ = try other.store(uids: [uid], flags: .init(system: [.flagged]), mode: .add, unchangedSince: nil)
        let seen = try box.sync()
        #expect(seen.flagsChanged.map(\.uid) == [uid])
        #expect(seen.flagsChanged[0].flags.system == [.seen, .flagged])
    }

    @Test func storeSurvivesConcurrentRenameByAnotherProcess() throws {
        let root = makeTempDirectory("storage-race")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        let uid = try box.append(sampleMessage, flags: .init(system: [.seen]), internalDate: nil)
        _ = try box.sync()
        let path = box.path(of: uid)!
        // "Dovecot" flags it meanwhile.
        _ = Glibc.rename(path, path.replacingSuffix(":2,S", with: ":2,FS"))
        let result = try box.store(uids: [uid], flags: .init(system: [.answered]), mode: .add, unchangedSince: nil)
        #expect(result.changed.first?.flags.system == [.seen, .flagged, .answered])
        #expect(names(in: "\(root)/cur")[0].hasSuffix(":2,FRS"))
    }

    @Test func expungeCopyMove() throws {
        let root = makeTempDirectory("storage-copy")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.create("Archive")
        let inbox = try store.open("INBOX")
        let archive = try store.open("Archive")
        let a = try inbox.append(sampleMessage, flags: .init(system: [.seen], keywords: ["Important"]), internalDate: 1_500_000_000)
        let b = try inbox.append(sampleMessage, flags: .init(system: [.deleted]), internalDate: nil)
        _ = try inbox.sync()
        let copied = try inbox.copy(uids: [a], to: archive)
        #expect(copied.map(\.destination) == [1])
        _ = try archive.sync()
        #expect(archive.messages[0].flags == MessageFlags(system: [.seen], keywords: ["Important"]))
        #expect(archive.messages[0].internalDate == 1_500_000_000)
        #expect(FS.stat(inbox.path(of: a)!)!.inode == FS.stat(archive.path(of: 1)!)!.inode)  // hard link

        let modSeqBefore = inbox.highestModSeq
        #expect(try inbox.expunge(uids: nil) == [b])
        #expect(inbox.messages.map(\.uid) == [a])
        #expect(inbox.highestModSeq > modSeqBefore)
        #expect(inbox.expungedSince(modSeq: modSeqBefore) == [b])
        #expect(inbox.expungedSince(modSeq: 0) == [b])

        let moved = try inbox.move(uids: [a], to: archive)
        #expect(moved.map(\.source) == [a] && moved.map(\.destination) == [2])
        #expect(inbox.messages.isEmpty)
        #expect(names(in: "\(root)/cur").isEmpty && names(in: "\(root)/new").isEmpty)
        let changes = try archive.sync()
        #expect(changes.added.map(\.uid) == [2])
        #expect(changes.added[0].flags.keywords == ["Important"])
    }

    @Test func deliverIsAllOrNothing() throws {
        let root = makeTempDirectory("storage-deliver")
        defer { removeTree(root) }
        let store = try makeStore(root, fsync: true)
        #expect(try store.deliver(to: "INBOX", message: sampleMessage) == 1)
        #expect(names(in: "\(root)/tmp").isEmpty)
        #expect(names(in: "\(root)/new").count == 1)

        var config = store.configuration
        config.failCommitAfterRename = true
        let failing = try MailStore(configuration: config)
        #expect(throws: StorageError.self) { try failing.deliver(to: "INBOX", message: sampleMessage, flags: .init(system: [.seen])) }
        #expect(names(in: "\(root)/tmp").isEmpty)
        #expect(names(in: "\(root)/new").count == 1)
        #expect(names(in: "\(root)/cur").isEmpty)

        // An aborted streaming append leaves nothing either.
        let box = try store.open("INBOX")
        let writer = try box.beginAppend()
        try writer.write(Array("Subject: partial\n".utf8))
        #expect(names(in: "\(root)/tmp").count == 1)
        writer.abort()
        #expect(names(in: "\(root)/tmp").isEmpty)
        #expect(try store.status("INBOX").messages == 1)
    }

    @Test func streamingAppend() throws {
        let root = makeTempDirectory("storage-stream")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try store.open("INBOX")
        let writer = try box.beginAppend()
        try writer.write(Array("Subject: x\r\n".utf8))
        try writer.write(Array("\r\nbody\n".utf8))
        let uid = try writer.commit(flags: .init(system: [.draft]), internalDate: nil)
        _ = try box.sync()
        #expect(box.messages.first { $0.uid == uid }?.virtualSize == 20)
        #expect(box.messages.first { $0.uid == uid }?.size == 19)
        // No session claimed it as \Recent (RFC 3501 §2.3.2): STATUS counts it.
        let status = try store.status("INBOX")
        #expect(status == MailboxStatus(messages: 1, unseen: 1, deleted: 0, recent: 1, uidNext: 2, uidValidity: box.uidValidity, highestModSeq: box.highestModSeq, size: 20, mailboxID: box.mailboxID))
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
