import Glibc
import AerieTestSupport
import Testing

@testable import AerieStorage

/// aerie.index: the compact format keeps everything, older and damaged files are rebuilt or upgraded without losing
/// UIDs or flags (those live in dovecot-uidlist and the file names).
@Suite struct IndexFormatTests {
    private func sampleIndex() -> MailboxIndex {
        var index = MailboxIndex()
        index.header = IndexHeader(
            uidValidity: 1_700_000_123, nextUID: 1, highestModSeq: 1, newMtimeNs: 1_700_000_000_123_456_789,
            curMtimeNs: -5, uidlistInode: 0xFFFF_FFFF_0000_0001, uidlistSize: 4_321,
            uidlistMtimeNs: 1_700_000_001_000_000_007,
            expungeFloor: 3, mailboxGUID: "0123456789abcdef0123456789abcdef")
        index.upsert(
            MessageRecord(
                uid: 7, modSeq: 12, size: 4_400, virtualSize: 4_500, internalDate: 1_600_000_000,
                saveDate: 1_700_000_000,
                inNew: false, fileName: "1600000000.M1P2.host,S=4400,W=4500:2,FRSa"))
        index.upsert(
            MessageRecord(
                uid: 3, modSeq: 9, size: 0, virtualSize: 0, internalDate: -86_400, saveDate: 0, inNew: true,
                fileName: "1600000001.M2P3.hÖst"))
        index.upsert(
            MessageRecord(
                uid: UInt32.max - 1, modSeq: 1 << 40, size: 3_000_000_000, virtualSize: 3_100_000_000,
                internalDate: 4_000_000_000, saveDate: 4_000_000_001, inNew: false,
                fileName: "1600000002.M3P4.host,S=3000000000,W=3100000000:2,"))
        index.expunge(5, modSeq: 10)
        index.expunge(6, modSeq: 11)
        return index
    }

    @Test func compactFormatRoundTripsEveryField() throws {
        let index = sampleIndex()
        let bytes = IndexFormat.snapshot(index)
        #expect(bytes.starts(with: Array("AERIE-INDEX 2\n".utf8)))
        let (decoded, used, textFormat) = try #require(IndexLog.decode(bytes))
        #expect(used == bytes.count)
        #expect(!textFormat)
        #expect(decoded.header == index.header)
        #expect(decoded.records.sorted() == index.records.sorted())
        #expect(decoded.records.sorted().map(\.uid) == [3, 7, UInt32.max - 1])
        #expect(decoded.records[3]?.inNew == true && decoded.records[7]?.inNew == false)
        #expect(decoded.records[3]?.fileName == "1600000001.M2P3.hÖst")
        #expect(decoded.expunges.map(\.uid) == [5, 6])
        #expect(decoded.expunged(since: 10) == [6])
        #expect(decoded.expunged(since: 2) == nil)  // below the floor: not remembered
        // Flags come from the stored name as they would from a Maildir name.
        let keywords = KeywordTable.parse(Array("0 $Important\n".utf8))
        #expect(
            decoded.records[7]?.name.flags(keywords: keywords)
                == MessageFlags(system: [.flagged, .answered, .seen], keywords: ["$Important"]))
        #expect(decoded.records[3]?.name.flags(keywords: keywords) == MessageFlags())
    }

    @Test func appendedChangesOverrideTheSnapshot() throws {
        var index = sampleIndex()
        var bytes = IndexFormat.snapshot(index)
        var journal = IndexJournal()
        var changed = index.records[7]!
        changed.fileName = "1600000000.M1P2.host,S=4400,W=4500:2,S"
        changed.modSeq = 13
        index.upsert(changed)
        journal.record(changed)
        index.expunge(3, modSeq: 13)
        journal.expunge(uid: 3, modSeq: 13)
        let added = MessageRecord(
            uid: 8, modSeq: 13, size: 1, virtualSize: 2, internalDate: 3, saveDate: 4, inNew: true, fileName: "8.M8P8.h"
        )
        index.upsert(added)
        journal.record(added)
        journal.header(index.header)
        bytes += journal.finish()
        let (decoded, used, _) = try #require(IndexLog.decode(bytes))
        #expect(used == bytes.count)
        #expect(decoded.header == index.header)
        #expect(decoded.records.sorted() == index.records.sorted())
        #expect(decoded.expunged(since: 12) == [3])
    }

    @Test func tornTailIsLeftOutAndTheDirectoriesAreListedAgain() throws {
        let index = sampleIndex()
        let bytes = IndexFormat.snapshot(index)
        var journal = IndexJournal()
        journal.record(
            MessageRecord(
                uid: 9, modSeq: 14, size: 1, virtualSize: 1, internalDate: 1, saveDate: 1, inNew: true,
                fileName: "9.M9P9.h"))
        journal.header(index.header)
        let append = journal.finish()
        let torn = bytes + append.dropLast(3)
        let (decoded, used, _) = try #require(IndexLog.decode(torn))
        // The record entry was complete, its header entry was not: used, but not trusted.
        #expect(used < torn.count)
        #expect(decoded.records[9] != nil)
        #expect(decoded.header.newMtimeNs == 0 && decoded.header.curMtimeNs == 0)
        // The lost changes may have handed out modseqs: later ones go above them, and the expunge history is gone.
        #expect(decoded.header.highestModSeq > index.header.highestModSeq)
        #expect(decoded.expunged(since: index.header.highestModSeq) == nil)
        // No header at all: nothing to trust.
        #expect(IndexLog.decode(Array(bytes.prefix(bytes.count - 20))) == nil)
        // Not an index at all, or an entry that does not decode: nil, so it is rebuilt.
        #expect(IndexLog.decode(Array("AERIE-INDEX 3\n".utf8)) == nil)
        #expect(IndexLog.decode(bytes + [UInt8(ascii: "X"), 0, 0, 0, 0]) == nil)
        #expect(IndexLog.decode(bytes + [UInt8(ascii: "R"), 3, 0, 0, 0, 1, 2, 3]) == nil)
    }

    @Test func recordsKeepUIDOrderThroughDeliveriesRenamesAndExpunges() {
        func record(_ uid: UInt32, _ name: String? = nil) -> MessageRecord {
            MessageRecord(
                uid: uid, modSeq: UInt64(uid), size: 1, virtualSize: 1, internalDate: 0, saveDate: 0, inNew: false,
                fileName: name ?? "\(uid).M1P1.host:2,S")
        }
        var index = MailboxIndex()
        var expected = Set<UInt32>()
        for uid in stride(from: 2, through: 200, by: 2) {
            index.upsert(record(UInt32(uid)))
            expected.insert(UInt32(uid))
        }
        #expect(index.uid(forBase: "10.M1P1.host") == 10)
        index.upsert(record(51))  // below the highest UID (taken from the uidlist in a scan)
        index.upsert(record(10, "10.M1P1.host:2,FS"))  // a flag change
        index.upsert(record(12, "12.other.host:2,"))  // another file under the same UID
        expected.insert(51)
        index.expunge([4, 6, 51, 999], modSeq: 300)  // a few: in place
        expected.subtract([4, 6, 51])
        #expect(index.records.sorted().map(\.uid) == expected.sorted())
        let many = (100...180).map(UInt32.init)
        index.expunge(many, modSeq: 301)  // many: as a dictionary
        expected.subtract(many)
        #expect(index.records.sorted().map(\.uid) == expected.sorted())
        #expect(index.records.count == expected.count)
        #expect(index.records[10]?.fileName == "10.M1P1.host:2,FS")
        #expect(index.records[4] == nil && index.records[2] != nil && index.records[51] == nil)
        #expect(index.uid(forBase: "10.M1P1.host") == 10)
        #expect(index.uid(forBase: "12.M1P1.host") == nil && index.uid(forBase: "12.other.host") == 12)
        #expect(index.uid(forBase: "4.M1P1.host") == nil)
        #expect(index.header.highestModSeq == 301 && index.header.nextUID == 201)
        #expect(index.expunged(since: 300) == many)
    }

    // MARK: Through the mail store

    private func fill(_ store: MailStore, root: String, count: Int) throws -> Mailbox {
        let box = try store.open("INBOX")
        for n in 0..<count {
            _ = try box.append(
                sampleMessage, flags: .init(system: n % 3 == 0 ? [.seen] : [], keywords: n % 4 == 0 ? ["$Work"] : []),
                internalDate: 1_600_000_000 + Int64(n))
        }
        _ = try box.store(uids: [2], flags: .init(system: [.deleted]), mode: .add, unchangedSince: nil)
        _ = try box.expunge(uids: nil)
        ageDirectories(root)
        _ = try box.sync()
        return box
    }

    @Test func coldOpenOfAnUnchangedMailboxReadsOnlyTheIndex() throws {
        let root = makeTempDirectory("coldopen")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try fill(store, root: root, count: 6)
        let before = box.messages
        let mailboxID = box.mailboxID
        EngineCache.shared.removeAll(under: root)
        StorageTestHooks.watch(root)
        let reopened = try store.open("INBOX")
        #expect(reopened.messages == before)
        #expect(reopened.highestModSeq == box.highestModSeq)
        // MAILBOXID comes from the index header: no uidlist read, no listing of cur/ or new/.
        #expect(!mailboxID.isEmpty && reopened.mailboxID == mailboxID)
        #expect(StorageTestHooks.count(.uidlistRead, under: root) == 0)
        #expect(StorageTestHooks.count(.directoryScan, under: root) == 0)
        #expect(StorageTestHooks.count(.messageFileStat, under: root) == 0)
    }

    @Test func textIndexIsReadAndUpgraded() throws {
        let root = makeTempDirectory("textindex")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try fill(store, root: root, count: 5)
        let before = box.messages
        let modSeq = box.highestModSeq
        let expungedModSeq = try #require(before.first { $0.uid == 3 }?.modSeq)
        // The index an earlier version left: text lines, including the expunge QRESYNC needs.
        let newStat = try #require(FS.stat("\(root)/new"))
        let curStat = try #require(FS.stat("\(root)/cur"))
        let listStat = try #require(FS.stat("\(root)/dovecot-uidlist"))
        var text = "AERIE-INDEX 1\n"
        text += "H \(box.uidValidity) \(box.uidNext) \(modSeq) \(newStat.mtimeNs) \(curStat.mtimeNs) "
        text += "\(listStat.inode) \(listStat.size) \(listStat.mtimeNs) 0\n"
        text += "E 2 \(modSeq)\n"
        for record in before {
            let inNew = FS.exists("\(root)/new/\(record.fileName)")
            text += "R \(record.uid) \(record.modSeq) \(record.size) \(record.virtualSize) \(record.internalDate) "
            text += "\(record.saveDate) \(inNew ? "n" : "c") \(record.fileName)\n"
        }
        writeText("\(root)/aerie.index", text)
        EngineCache.shared.removeAll(under: root)
        StorageTestHooks.watch(root)

        let reopened = try store.open("INBOX")
        #expect(reopened.messages == before)
        #expect(reopened.highestModSeq == modSeq)
        #expect(reopened.expungedSince(modSeq: expungedModSeq) == [2])
        #expect(reopened.mailboxID == box.mailboxID)
        #expect(StorageTestHooks.count(.directoryScan, under: root) == 0)
        let upgraded = try #require(try FS.readFile("\(root)/aerie.index"))
        #expect(upgraded.starts(with: Array("AERIE-INDEX 2\n".utf8)))

        // The next restart reads the compact file, with the same result.
        EngineCache.shared.removeAll(under: root)
        let again = try store.open("INBOX")
        #expect(again.messages == before)
        #expect(again.expungedSince(modSeq: expungedModSeq) == [2])
        #expect(again.mailboxID == box.mailboxID)
        #expect(StorageTestHooks.count(.uidlistRead, under: root) == 1)  // once, for the GUID, at the upgrade
    }

    @Test func truncatedOrGarbageIndexIsRebuiltWithSameUIDs() throws {
        let root = makeTempDirectory("damaged")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try fill(store, root: root, count: 20)
        let before = box.messages
        let modSeq = box.highestModSeq
        let index = try #require(try FS.readFile("\(root)/aerie.index"))
        let damaged: [[UInt8]] = [
            Array(index.prefix(index.count / 2)),  // cut inside the records
            Array(index.prefix(20)),
            Array(index.prefix(14)) + Array(repeating: 0, count: 300),  // zeros after a crash
            Array("AERIE-INDEX 2\nRgarbage\n".utf8),
            Array("not an index at all\n".utf8),
            [],
        ]
        for bytes in damaged {
            let fd = open("\(root)/aerie.index", O_WRONLY | O_TRUNC)
            try FS.writeAll(fd, bytes, path: "\(root)/aerie.index")
            close(fd)
            EngineCache.shared.removeAll(under: root)
            let reopened = try store.open("INBOX")
            #expect(reopened.messages.map(\.uid) == before.map(\.uid))
            #expect(reopened.messages.map(\.flags) == before.map(\.flags))
            #expect(reopened.messages.map(\.internalDate) == before.map(\.internalDate))
            #expect(reopened.uidValidity == box.uidValidity)
            #expect(reopened.highestModSeq >= modSeq)
            // Rewritten whole, and usable for writes again; UIDs handed out before are not handed out again.
            #expect(try FS.readFile("\(root)/aerie.index")?.starts(with: Array("AERIE-INDEX 2\n".utf8)) == true)
            let expected = reopened.uidNext
            #expect(expected >= box.uidNext)
            let uid = try reopened.append(sampleMessage, flags: .init(), internalDate: nil)
            #expect(uid == expected)
            _ = try reopened.sync()
            _ = try reopened.store(uids: [uid], flags: .init(system: [.deleted]), mode: .add, unchangedSince: nil)
            #expect(try reopened.expunge(uids: [uid]) == [uid])
            ageDirectories(root)
            _ = try reopened.sync()
        }
    }

    @Test func tornAppendIsToleratedAndCompactedAway() throws {
        let root = makeTempDirectory("torn")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try fill(store, root: root, count: 4)
        let before = box.messages
        // A crash in the middle of another writer's append: an entry header promising more than is there.
        let fd = open("\(root)/aerie.index", O_WRONLY | O_APPEND)
        try FS.writeAll(fd, [UInt8(ascii: "R"), 0, 1, 0, 0, 7, 0, 0], path: "\(root)/aerie.index")
        close(fd)
        EngineCache.shared.removeAll(under: root)
        let reopened = try store.open("INBOX")
        #expect(reopened.messages == before)
        let uid = try reopened.append(sampleMessage, flags: .init(), internalDate: nil)
        EngineCache.shared.removeAll(under: root)
        #expect(try store.open("INBOX").messages.map(\.uid) == before.map(\.uid) + [uid])
    }

    @Test func indexNewerThanMaildirIsCorrectedBySync() throws {
        let root = makeTempDirectory("newerindex")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let box = try fill(store, root: root, count: 4)
        let before = box.messages
        let uidlist = try #require(readText("\(root)/dovecot-uidlist"))
        let curBefore = Set(names(in: "\(root)/cur"))
        let newBefore = Set(names(in: "\(root)/new"))
        // Three more deliveries and a flag change reach the index, then the Maildir is restored from a backup.
        for _ in 0..<3 { _ = try store.deliver(to: "INBOX", message: sampleMessage) }
        _ = try box.sync()
        _ = try box.store(uids: [before[0].uid], flags: .init(system: [.flagged]), mode: .add, unchangedSince: nil)
        for name in names(in: "\(root)/new") where !newBefore.contains(name) { unlink("\(root)/new/\(name)") }
        for name in names(in: "\(root)/cur") where !curBefore.contains(name) {
            if let original = curBefore.first(where: { $0.hasPrefix(MaildirFileName(name).base) }) {
                rename("\(root)/cur/\(name)", "\(root)/cur/\(original)")
            } else {
                unlink("\(root)/cur/\(name)")
            }
        }
        writeText("\(root)/dovecot-uidlist", uidlist)
        EngineCache.shared.removeAll(under: root)

        let reopened = try store.open("INBOX")
        #expect(reopened.messages.map(\.uid) == before.map(\.uid))
        #expect(reopened.messages.map(\.flags) == before.map(\.flags))
        #expect(reopened.messages.map(\.fileName) == before.map(\.fileName))
        // UIDs handed out before are never handed out again.
        #expect(try reopened.append(sampleMessage, flags: .init(), internalDate: nil) > before.last!.uid + 3)
    }

    @Test func emailIDOfACopyIsKeptAcrossARestart() throws {
        let root = makeTempDirectory("emailid")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.create("Archive")
        let box = try store.open("INBOX")
        let uid = try box.append(sampleMessage, flags: .init(), internalDate: nil)
        _ = try box.sync()
        let archiveBefore = try store.open("Archive")
        let copied = try box.copy(uids: [uid], to: archiveBefore)
        let emailID = try #require(box.emailID(uid: uid))
        // Trusted directory mtimes: the reopen below needs no scan, so nothing has read the uidlist yet.
        ageDirectories(root)
        ageDirectories("\(root)/.Archive")
        _ = try box.sync()
        _ = try archiveBefore.sync()
        EngineCache.shared.removeAll(under: root)
        StorageTestHooks.watch(root)
        let archive = try store.open("Archive")
        #expect(archive.emailID(uid: try #require(copied.first?.destination)) == emailID)
        #expect(try store.open("INBOX").emailID(uid: uid) == emailID)
        #expect(StorageTestHooks.count(.directoryScan, under: root) == 0)
    }
}
