import AerieTestSupport
import Testing
@testable import AerieStorage

@Suite struct MaildirPlusPlusLayoutTests {
    @Test func createListRenameDelete() throws {
        let root = makeTempDirectory("storage-mpp")
        defer { removeTree(root) }
        let store = try makeStore(root)
        #expect(names(in: root).contains("cur"))
        try store.create("Entwürfe")
        try store.create("Lists/dev/")
        try store.create("Sent")
        #expect(FS.isDirectory("\(root)/.Entw&APw-rfe/cur"))
        #expect(FS.isDirectory("\(root)/.Lists.dev/new"))
        #expect(FS.exists("\(root)/.Sent/maildirfolder"))
        #expect(FS.exists("\(root)/.Sent/dovecot-uidlist"))
        #expect(FS.stat("\(root)/.Sent")!.isDirectory)
        #expect(throws: StorageError.mailboxExists("Sent")) { try store.create("Sent") }
        #expect(throws: StorageError.invalidName("a.b")) { try store.create("a.b") }

        let listing = try store.list()
        #expect(listing.map(\.name) == ["INBOX", "Entwürfe", "Lists", "Lists/dev", "Sent"])
        #expect(listing[2].attributes == [.noSelect, .hasChildren])
        #expect(listing[3].attributes == [.hasNoChildren])
        #expect(listing[0].attributes == [.hasNoChildren])

        try store.rename("Lists", to: "Archive/Lists")
        #expect(FS.isDirectory("\(root)/.Archive.Lists.dev"))
        #expect(!FS.exists("\(root)/.Lists.dev"))

        try store.delete("Sent")
        #expect(!FS.exists("\(root)/.Sent"))
        #expect(throws: StorageError.hasChildren("Archive")) { try store.delete("Archive") }
        #expect(throws: StorageError.cannotDeleteInbox) { try store.delete("inbox") }
        #expect(throws: StorageError.mailboxNotFound("Nope")) { try store.delete("Nope") }
        #expect(!names(in: root).contains { $0.hasPrefix("..") })
    }

    /// A name whose directory would pass NAME_MAX (255) is refused as too long, not failed as an I/O error.
    @Test func overlongNamesAreRefused() throws {
        let root = makeTempDirectory("storage-mpp-long")
        defer { removeTree(root) }
        let store = try makeStore(root)
        let longest = String(repeating: "x", count: 254)
        try store.create(longest)
        #expect(throws: StorageError.nameTooLong(longest + "x")) { try store.create(longest + "x") }
        // Maildir++ keeps every level in one directory name; fs layout has one per level.
        let twoLevels = String(repeating: "a", count: 200) + "/" + String(repeating: "b", count: 100)
        #expect(throws: StorageError.nameTooLong(twoLevels)) { try store.create(twoLevels) }
        #expect(throws: StorageError.nameTooLong(twoLevels)) { try store.open(twoLevels) }
        #expect(throws: StorageError.nameTooLong(twoLevels)) { try store.rename(longest, to: twoLevels) }
        let fsRoot = makeTempDirectory("storage-fs-long")
        defer { removeTree(fsRoot) }
        let fsStore = try makeStore(fsRoot, layout: .fs)
        try fsStore.create(twoLevels)
        let oneLevel = String(repeating: "c", count: 256)
        #expect(throws: StorageError.nameTooLong(oneLevel)) { try fsStore.create(oneLevel) }
    }

    @Test func deleteWithChildrenLeavesNoselectParent() throws {
        let root = makeTempDirectory("storage-mpp-del")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.create("Work")
        try store.create("Work/2024")
        try store.delete("Work")
        let work = try store.list().first { $0.name == "Work" }
        #expect(work?.attributes == [.noSelect, .hasChildren])
    }

    @Test func subscriptionsUseDovecotV2Format() throws {
        let root = makeTempDirectory("storage-subs")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.subscribe("inbox")
        try store.subscribe("Lists/dev")
        try store.subscribe("Entwürfe")
        try store.subscribe("Lists/dev")
        #expect(readText("\(root)/subscriptions") == "V\t2\n\nINBOX\nLists\tdev\nEntw&APw-rfe\n")
        #expect(try store.subscriptions() == ["INBOX", "Lists/dev", "Entwürfe"])
        try store.unsubscribe("Lists/dev")
        #expect(try store.subscriptions() == ["INBOX", "Entwürfe"])
        // The pre-2.2 format: one storage name per line.
        writeText("\(root)/subscriptions", "INBOX\nLists.dev\nEntw&APw-rfe\n")
        #expect(try store.subscriptions() == ["INBOX", "Lists/dev", "Entwürfe"])
    }

    @Test func renameCarriesSubscriptionsAndUIDs() throws {
        let root = makeTempDirectory("storage-ren")
        defer { removeTree(root) }
        let store = try makeStore(root)
        try store.create("Old")
        try store.subscribe("Old")
        let box = try store.open("Old")
        let uid = try box.append(sampleMessage, flags: .init(system: [.seen]), internalDate: nil)
        let validity = box.uidValidity
        try store.rename("Old", to: "New")
        #expect(try store.subscriptions() == ["New"])
        let renamed = try store.open("New")
        #expect(renamed.uidValidity == validity)
        #expect(renamed.messages.map(\.uid) == [uid])
    }

    @Test func renamingInboxMovesMessagesAndLeavesItEmpty() throws {
        let root = makeTempDirectory("storage-inbox-ren")
        defer { removeTree(root) }
        let store = try makeStore(root)
        _ = try store.deliver(to: "INBOX", message: sampleMessage)
        _ = try store.deliver(to: "INBOX", message: sampleMessage, flags: .init(system: [.flagged]))
        try store.rename("INBOX", to: "Old Inbox")
        #expect(try store.open("INBOX").messages.isEmpty)
        let moved = try store.open("Old Inbox").messages
        #expect(moved.count == 2)
        #expect(moved[1].flags.system == [.flagged])
    }
}

@Suite struct FSLayoutTests {
    @Test func hierarchicalDirectories() throws {
        let root = makeTempDirectory("storage-fs")
        defer { removeTree(root) }
        let store = try makeStore(root, layout: .fs)
        try store.create("Lists/dev")
        try store.create("Entwürfe")
        #expect(FS.isDirectory("\(root)/Lists/dev/cur"))
        #expect(!FS.exists("\(root)/Lists/cur"))
        #expect(FS.isDirectory("\(root)/Entw&APw-rfe/tmp"))
        #expect(throws: StorageError.invalidName("cur")) { try store.create("cur") }
        var listing = try store.list()
        #expect(listing.map(\.name) == ["INBOX", "Entwürfe", "Lists", "Lists/dev"])
        #expect(listing[2].attributes == [.noSelect, .hasChildren])

        // A \Noselect parent can be made a real mailbox.
        try store.create("Lists")
        #expect(FS.isDirectory("\(root)/Lists/cur"))
        try store.rename("Lists", to: "Archive/Lists")
        #expect(FS.isDirectory("\(root)/Archive/Lists/dev/cur"))
        try store.delete("Archive/Lists")
        listing = try store.list()
        #expect(listing.first { $0.name == "Archive/Lists" }?.attributes == [.noSelect, .hasChildren])
        #expect(FS.isDirectory("\(root)/Archive/Lists/dev/cur"))
        #expect(!FS.exists("\(root)/Archive/Lists/cur"))
        try store.delete("Archive/Lists/dev")
        #expect(!FS.exists("\(root)/Archive/Lists/dev"))
    }
}

/// LAYOUT=fs with `separator = .`: a directory level holding a dot cannot round-trip, since "a.b" leads clients to
/// `a/b`. As Dovecot 2.3/2.4 list it: under that reading, \Noselect unless `a/b` exists too, and never touched.
@Suite struct FSLayoutDotSeparatorTests {
    func makeDotStore(_ root: String) throws -> MailStore {
        try MailStore(configuration: MailStoreConfiguration(root: root, layout: .fs, fsync: false, separator: "."))
    }

    /// A Maildir with one message file, made by another program (Aerie never makes a level with the separator).
    func makeForeignMaildir(_ path: String) throws {
        try MailStore.makeMaildir(path, folderMarker: false)
        writeText("\(path)/new/1000.M1P1.host,S=6", "hello\n")
    }

    @Test func aDottedDirectoryIsListedAsClientsReadItAndLeftAlone() throws {
        let root = makeTempDirectory("storage-fs-dot")
        defer { removeTree(root) }
        let store = try makeDotStore(root)
        try makeForeignMaildir("\(root)/only.dot")
        try makeForeignMaildir("\(root)/a.b")
        try store.create("a/b")

        let listing = try store.list()
        #expect(listing.map(\.name) == ["INBOX", "a", "a/b", "only", "only/dot"])
        #expect(listing[1].attributes == [.noSelect, .hasChildren])
        // `a/b` is where "a.b" leads: listed once, selectable; `a.b`'s mail is not shown under its name.
        #expect(listing[2].attributes == [.hasNoChildren])
        #expect(try store.open("a/b").messages.isEmpty)
        #expect(listing[3].attributes == [.noSelect, .hasChildren])
        #expect(listing[4].attributes == [.noSelect, .hasNoChildren])

        #expect(throws: StorageError.mailboxNotFound("only/dot")) { try store.open("only/dot") }
        #expect(throws: StorageError.mailboxNotFound("only/dot")) { try store.delete("only/dot") }
        #expect(throws: StorageError.mailboxNotFound("only/dot")) { try store.rename("only/dot", to: "x") }
        #expect(throws: StorageError.mailboxNotFound("only")) { try store.rename("only", to: "x") }
        #expect(readText("\(root)/only.dot/new/1000.M1P1.host,S=6") == "hello\n")
        #expect(readText("\(root)/a.b/new/1000.M1P1.host,S=6") == "hello\n")

        // Creating the name a client sees makes the real mailbox; the dotted directory stays beside it.
        try store.create("only/dot")
        #expect(FS.isDirectory("\(root)/only/dot/cur"))
        #expect(try store.list().first { $0.name == "only/dot" }?.attributes == [.hasNoChildren])
        #expect(FS.isDirectory("\(root)/only.dot/cur"))
    }

    @Test func noLevelIsMadeWithTheSeparatorInIt() throws {
        let root = makeTempDirectory("storage-fs-dot-create")
        defer { removeTree(root) }
        let store = try makeDotStore(root)
        #expect(throws: StorageError.invalidName("p.q")) { try store.create("p.q") }
        #expect(throws: StorageError.invalidName("x/p.q")) { try store.subscribe("x/p.q") }
        try store.create("p")
        #expect(throws: StorageError.invalidName("p.q")) { try store.rename("p", to: "p.q") }
        #expect(names(in: root).filter { $0.contains(".") && !$0.hasPrefix(".") && !$0.hasPrefix("dovecot") } == [])
        // Levels a client's name cannot reach at all (an empty level) are not listed.
        try makeForeignMaildir("\(root)/x..y")
        #expect(try store.list().map(\.name) == ["INBOX", "p"])
    }

    @Test func withTheDefaultSeparatorADotIsJustACharacter() throws {
        let root = makeTempDirectory("storage-fs-slash")
        defer { removeTree(root) }
        let store = try makeStore(root, layout: .fs)
        try makeForeignMaildir("\(root)/only.dot")
        try store.create("p.q")
        #expect(FS.isDirectory("\(root)/p.q/cur"))
        #expect(try store.list().map(\.name) == ["INBOX", "only.dot", "p.q"])
        #expect(try store.open("only.dot").messages.count == 1)
    }
}
