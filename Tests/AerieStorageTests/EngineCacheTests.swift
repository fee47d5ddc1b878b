import AerieTestSupport
import Testing

@testable import AerieStorage

/// One engine per mailbox in the process; a test that simulates a restart forgets only its own mailboxes, so tests
/// running beside it keep one engine (and one \Recent floor) per mailbox.
@Suite struct EngineCacheTests {
    @Test func forgettingOneTreeKeepsTheEnginesOfAnother() throws {
        let mine = makeTempDirectory("cache-mine")
        let other = makeTempDirectory("cache-other")
        defer {
            removeTree(mine)
            removeTree(other)
        }
        let myBox = try makeStore(mine).open("INBOX")
        let otherBox = try makeStore(other).open("INBOX")
        #expect(try makeStore(other).open("INBOX").engine === otherBox.engine)
        EngineCache.shared.removeAll(under: mine)
        #expect(try makeStore(other).open("INBOX").engine === otherBox.engine)
        #expect(try makeStore(mine).open("INBOX").engine !== myBox.engine)
        // A sibling whose name merely starts the same is another tree.
        EngineCache.shared.removeAll(under: String(other.dropLast()))
        #expect(try makeStore(other).open("INBOX").engine === otherBox.engine)
    }

    @Test func aMovedStorageClockMakesAFreshMtimeTrusted() throws {
        let root = makeTempDirectory("cache-clock")
        defer { removeTree(root) }
        let clock = StorageClock()
        var configuration = MailStoreConfiguration(root: root, fsync: false)
        configuration.clock = clock
        let store = try MailStore(configuration: configuration)
        let box = try store.open("INBOX")
        _ = try box.append(sampleMessage, flags: .init(system: []), internalDate: 1_600_000_000)
        clock.advance(by: .seconds(2))
        _ = try box.sync()
        #expect(box.engine.index.header.newMtimeNs != 0)
    }
}
