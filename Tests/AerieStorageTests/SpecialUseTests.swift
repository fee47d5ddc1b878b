import Glibc
import AerieTestSupport
import Testing

@testable import AerieStorage

/// RFC 6154 §3 attributes stored with a mailbox: they outlive the process, move with RENAME, go with DELETE.
@Suite final class SpecialUseStorageTests {
    /// Swift Testing makes one suite instance per test case: each gets its own root, removed after it.
    let root = makeTempDirectory("use")
    deinit { removeTree(root) }

    @Test(arguments: [MailboxLayout.maildirPlusPlus, .fs])
    func attributesSurviveReopenAndMoveWithRename(layout: MailboxLayout) throws {
        let store = try makeStore(root, layout: layout)
        try store.create("Old", specialUse: ["\\Archive"])
        try store.create("Old/Child", specialUse: ["\\Junk"])
        try store.create("Plain")
        #expect(store.specialUse("Old") == ["\\Archive"])
        #expect(store.specialUse("Plain") == [])

        let reopened = try makeStore(root, layout: layout)
        #expect(reopened.specialUse("Old") == ["\\Archive"])
        try reopened.rename("Old", to: "New")
        #expect(reopened.specialUse("New") == ["\\Archive"])
        #expect(reopened.specialUse("New/Child") == ["\\Junk"])
        #expect(reopened.specialUse("Old") == [])
        #expect(try reopened.list().map(\.name) == ["INBOX", "New", "New/Child", "Plain"])
    }

    @Test(arguments: [MailboxLayout.maildirPlusPlus, .fs])
    func deleteRemovesTheAttributes(layout: MailboxLayout) throws {
        let store = try makeStore(root, layout: layout)
        try store.create("Box", specialUse: ["\\Trash"])
        try store.delete("Box")
        try store.create("Box")
        #expect(store.specialUse("Box") == [])

        // A mailbox with children: fs layout keeps its directory as a \Noselect parent, which has no special use.
        try store.create("Parent", specialUse: ["\\Sent"])
        try store.create("Parent/Child")
        try store.delete("Parent")
        #expect(store.specialUse("Parent") == [])
        try store.create("Parent")
        #expect(store.specialUse("Parent") == [])
    }

    @Test func theFileIsPrivateAndNeverAMailboxOrAMessage() throws {
        let store = try makeStore(root, layout: .fs)
        try store.create("Box", specialUse: ["\\Drafts", "\\Sent"])
        let path = "\(root)/Box/\(SpecialUseFile.fileName)"
        #expect(readText(path) == "\\Drafts\n\\Sent\n")
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // Written through a temporary file that does not stay behind.
        #expect(names(in: "\(root)/Box").filter { $0.hasPrefix(".") } == [SpecialUseFile.fileName])
        #expect(throws: StorageError.invalidName("Box/\(SpecialUseFile.fileName)")) {
            try store.create("Box/\(SpecialUseFile.fileName)")
        }
        #expect(try store.list().map(\.name) == ["INBOX", "Box"])
        #expect(try store.open("Box").messages.isEmpty)
    }

    /// RFC 6154 §3: if the attribute cannot be stored, CREATE fails and leaves the name as it was. A directory where
    /// the file goes makes the final rename(2) fail with EISDIR even for root, for whom a read-only directory
    /// would not; only fs layout can hold it beforehand, in an existing \Noselect parent.
    @Test func anAttributeThatCannotBeStoredCreatesNoMailbox() throws {
        let store = try makeStore(root, layout: .fs)
        try store.create("Parent/Child")
        #expect(mkdir("\(root)/Parent/\(SpecialUseFile.fileName)", 0o700) == 0)

        #expect(throws: StorageError.self) { try store.create("Parent", specialUse: ["\\Archive"]) }
        #expect(try store.list().first { $0.name == "Parent" }?.attributes.contains(.noSelect) == true)
        #expect(throws: StorageError.self) { try store.open("Parent") }
        // The Maildir made for the new mailbox is gone and no temporary file of the failed write stays; what is
        // left is what was there before: the child and the obstacle.
        #expect(names(in: "\(root)/Parent") == [SpecialUseFile.fileName, "Child"].sorted())
        #expect(store.specialUse("Parent") == [])
        #expect(try store.open("Parent/Child").messages.isEmpty)
    }

    /// The same failure for a mailbox with no children: it goes whole (as DELETE does it), as a Maildir++ mailbox would
    /// on a full disk. The directory held only the obstacle, so nothing is left at all.
    @Test func aMailboxWithoutChildrenWhoseAttributeCannotBeStoredGoesWhole() throws {
        let store = try makeStore(root, layout: .fs)
        #expect(mkdir("\(root)/Box", 0o700) == 0 && mkdir("\(root)/Box/\(SpecialUseFile.fileName)", 0o700) == 0)

        #expect(throws: StorageError.self) { try store.create("Box", specialUse: ["\\Archive"]) }
        #expect(try store.list().map(\.name) == ["INBOX"])
        #expect(!names(in: root).contains { $0 == "Box" || $0.hasPrefix("..") })
    }

    @Test func aDamagedFileYieldsOnlyFlagLikeWords() {
        let parsed = SpecialUseFile.parse(Array(" \\Sent \n\\Sent\nJunk\n\\a b\n\\x)\n\r\n\\Drafts".utf8))
        #expect(parsed == ["\\Sent", "\\Drafts"])
    }
}

/// A huge `.aerie-special-use` (hand-edited, or damaged) is read only to its bound: LIST still works, and the
/// attributes are the whole lines of the first 4 KiB.
@Suite struct OversizedSpecialUseFileTests {
    @Test func onlyWholeLinesOfTheFirstFourKiBCount() throws {
        let root = makeTempDirectory("use-huge")
        defer { removeTree(root) }
        let store = try makeStore(root, layout: .fs)
        try store.create("Cut")
        try store.create("Whole")
        let bound = SpecialUseFile.maxSize
        // `\Archive` starts 4 octets before the bound; `\Junk`'s newline is the first octet past it.
        let cut = "\\Sent\n" + String(repeating: "x", count: bound - 11) + "\n\\Archive\n"
        let whole = "\\Sent\n" + String(repeating: "x", count: bound - 12) + "\n\\Junk\n"
        for (name, text) in [("Cut", cut), ("Whole", whole)] {
            let path = "\(root)/\(name)/\(SpecialUseFile.fileName)"
            writeText(path, text)
            // Sparse, so the test costs no disk: read whole it would be 256 MiB.
            #expect(truncate(path, 256 << 20) == 0)
        }
        #expect(store.specialUse("Cut") == ["\\Sent"])
        #expect(store.specialUse("Whole") == ["\\Sent", "\\Junk"])
        #expect(try store.list().map(\.name) == ["INBOX", "Cut", "Whole"])
    }
}
