/// One user's mail: the mailbox tree (create, delete, rename, list, subscriptions) and entry to mailboxes.
import Glibc

public final class MailStore: Sendable {
    public let configuration: MailStoreConfiguration
    let paths: MailboxPaths

    /// Creates the root Maildir (cur/, new/, tmp/, 0700) if missing.
    public init(configuration: MailStoreConfiguration) throws(StorageError) {
        var configuration = configuration
        while configuration.root.count > 1 && configuration.root.hasSuffix("/") { configuration.root.removeLast() }
        self.configuration = configuration
        paths = MailboxPaths(
            root: configuration.root, layout: configuration.layout, inboxPath: configuration.inboxPath,
            indexRoot: configuration.indexPath, separator: configuration.separator)
        try FS.makeDirectories(configuration.root)
        try Self.makeMaildir(paths.inboxDirectory, folderMarker: false)
    }

    /// cur/ new/ tmp/ (and Maildir++'s `maildirfolder` marker, which Dovecot writes in every folder but INBOX).
    static func makeMaildir(_ directory: String, folderMarker: Bool) throws(StorageError) {
        try FS.makeDirectories(directory)
        for sub in ["tmp", "new", "cur"] { try FS.makeDirectory("\(directory)/\(sub)") }
        if folderMarker && !FS.exists("\(directory)/maildirfolder") {
            close(try FS.createExclusive("\(directory)/maildirfolder"))
        }
    }

    private func engine(for name: String) throws(StorageError) -> MaildirEngine {
        EngineCache.shared.engine(
            directory: try paths.directory(name), indexDirectory: try paths.indexDirectory(name),
            configuration: configuration)
    }

    private func subscriptionFile() -> SubscriptionFile {
        SubscriptionFile(
            path: "\(configuration.root)/\(SubscriptionFile.fileName)",
            legacySeparator: configuration.layout == .fs ? "/" : ".",
            lockTimeout: configuration.lockTimeoutSeconds, durable: configuration.fsync)
    }

    // MARK: Tree

    /// Every mailbox incl. INBOX, with \HasChildren / \HasNoChildren and \Noselect for implicit parents.
    public func list() throws(StorageError) -> [MailboxListing] {
        try paths.listings()
    }

    /// Parents are created as needed in fs layout (as plain \Noselect directories, like Dovecot); Maildir++ needs none.
    /// `specialUse` (RFC 6154 §3) is stored with the mailbox; if it cannot be, the mailbox is not created.
    public func create(_ name: String, specialUse: [String] = []) throws(StorageError) {
        let name = try MailboxNames.normalize(name)
        if name == "INBOX" { throw .mailboxExists(name) }
        _ = try paths.validate(name)
        let directory = try paths.directory(name)
        if paths.isSelectable(directory) { throw .mailboxExists(name) }
        if configuration.layout == .maildirPlusPlus && FS.exists(directory) { throw .mailboxExists(name) }
        try Self.makeMaildir(directory, folderMarker: configuration.layout == .maildirPlusPlus)
        let specialUseFile = SpecialUseFile(directory: directory, durable: configuration.fsync)
        if specialUse.isEmpty {
            // An fs-layout \Noselect parent becoming a mailbox again starts with no special use.
            unlink(specialUseFile.path)
        } else {
            do throws(StorageError) {
                try specialUseFile.write(specialUse)
            } catch {
                try? delete(name)
                throw error
            }
        }
        let engine = try engine(for: name)
        try engine.mutex.run { () throws(StorageError) in
            try engine.withWriteLock { () throws(StorageError) in try engine.ensureUIDList(root: configuration.root) }
        }
    }

    /// The special-use attributes stored by `create(_:specialUse:)`; none for a mailbox created without them.
    public func specialUse(_ name: String) -> [String] {
        guard let normalized = try? MailboxNames.normalize(name), let directory = try? paths.directory(normalized)
        else { return [] }
        return SpecialUseFile(directory: directory, durable: configuration.fsync).read()
    }

    /// RFC 9051 §6.3.5: a mailbox with children loses its messages and stays as \Noselect (fs layout) or disappears
    /// leaving an implicit \Noselect parent (Maildir++); a \Noselect name with children cannot be deleted.
    public func delete(_ name: String) throws(StorageError) {
        let name = try MailboxNames.normalize(name)
        if name == "INBOX" { throw .cannotDeleteInbox }
        let found = try paths.scan()
        guard let selectable = found[name] else { throw .mailboxNotFound(name) }
        let hasChildren = found.keys.contains { $0.hasPrefix(name + "/") }
        if !selectable && hasChildren { throw .hasChildren(name) }
        let directory = try paths.directory(name)
        // Listed only through a directory it does not lead to (see `MailboxNames`): that one is not the client's.
        if !selectable && !FS.exists(directory) { throw .mailboxNotFound(name) }
        defer { EngineCache.shared.forget(directory: directory) }
        if FS.isSymlink(directory) {
            // A linked-in (shared) mailbox: the link goes, never what it points to (Dovecot's delete_symlink).
            if unlink(directory) != 0 && errno != ENOENT { throw FS.ioError(directory) }
        } else if hasChildren && configuration.layout == .fs {
            // Keep the directory for the children; drop the Maildir inside it.
            for entry in try FS.listDirectory(directory) ?? [] {
                let path = "\(directory)/\(entry.name)"
                if ["cur", "new", "tmp"].contains(entry.name) {
                    try FS.removeTree(path)
                } else if !(entry.isDirectory ?? FS.isDirectory(path)) {
                    unlink(path)
                }
            }
        } else if FS.exists(directory) {
            // Rename first so the mailbox vanishes atomically; "..name" is never listed as a mailbox.
            let trash = "\(configuration.root)/..aerie-deleted.\(getpid()).\(UniqueCounter.next())"
            try FS.rename(directory, to: trash)
            try FS.removeTree(trash)
        }
        if configuration.indexPath != nil {
            unlink("\(try paths.indexDirectory(name))/\(MailboxIndex.fileName)")
            unlink("\(try paths.indexDirectory(name))/\(FetchCacheFile.fileName)")
        }
    }

    /// Children move along; UIDs and UIDVALIDITY move with the files. Renaming INBOX moves its messages into a new
    /// mailbox and leaves INBOX empty (RFC 9051 §6.3.6); INBOX's children stay.
    public func rename(_ old: String, to new: String) throws(StorageError) {
        let old = try MailboxNames.normalize(old)
        let new = try MailboxNames.normalize(new)
        if new == "INBOX" { throw .mailboxExists(new) }
        _ = try paths.validate(new)
        if new.hasPrefix(old + "/") || new == old { throw .invalidName(new) }
        let found = try paths.scan()
        guard found[old] != nil else { throw .mailboxNotFound(old) }
        if found[new] != nil { throw .mailboxExists(new) }

        if old == "INBOX" {
            try create(new)
            let inbox = try open("INBOX")
            let target = try open(new)
            _ = try inbox.move(uids: inbox.messages.map(\.uid), to: target)
            return
        }

        let children = found.keys.filter { $0.hasPrefix(old + "/") }
        // Every new name must fit before the first directory moves (a child's may be too long, its parent's not).
        for name in children { _ = try paths.relativePath(new + name.dropFirst(old.count)) }
        switch configuration.layout {
        case .maildirPlusPlus:
            // Each Maildir++ folder is its own directory: rename the mailbox and every child.
            var moved = false
            for name in ([old] + children) where FS.exists(try paths.directory(name)) {
                moved = true
                EngineCache.shared.forget(directory: try paths.directory(name))
                let renamed = new + name.dropFirst(old.count)
                try FS.rename(try paths.directory(name), to: try paths.directory(renamed))
                try renameIndex(from: name, to: renamed)
            }
            // Listed only through directories the names do not lead to (see `MailboxNames`): nothing to move.
            if !moved { throw .mailboxNotFound(old) }
        case .fs:
            guard FS.exists(try paths.directory(old)) else { throw .mailboxNotFound(old) }
            let target = try paths.directory(new)
            for name in [old] + children { EngineCache.shared.forget(directory: try paths.directory(name)) }
            try FS.makeDirectories(FS.parentPath(target))
            try FS.rename(try paths.directory(old), to: target)
            try renameIndex(from: old, to: new)
        }

        let subscriptions = subscriptionFile()
        for name in try subscriptions.read() where name == old || name.hasPrefix(old + "/") {
            try subscriptions.set(name, subscribed: false)
            try subscriptions.set(new + name.dropFirst(old.count), subscribed: true)
        }
    }

    private func renameIndex(from old: String, to new: String) throws(StorageError) {
        guard configuration.indexPath != nil else { return }
        let source = try paths.indexDirectory(old)
        let target = try paths.indexDirectory(new)
        guard FS.exists(source) else { return }
        try FS.makeDirectories(FS.parentPath(target))
        _ = Glibc.rename(source, target)  // a cache: if it fails, the index is rebuilt
    }

    // MARK: Subscriptions

    public func subscriptions() throws(StorageError) -> [String] {
        try subscriptionFile().read()
    }

    /// Like Dovecot, a name may be subscribed whether or not the mailbox exists.
    public func subscribe(_ name: String) throws(StorageError) {
        let name = try MailboxNames.normalize(name)
        _ = try paths.validate(name)
        try subscriptionFile().set(name, subscribed: true)
    }

    public func unsubscribe(_ name: String) throws(StorageError) {
        try subscriptionFile().set(try MailboxNames.normalize(name), subscribed: false)
    }

    // MARK: Mailboxes

    private func selectableEngine(_ name: String) throws(StorageError) -> (String, MaildirEngine) {
        let name = try MailboxNames.normalize(name)
        let directory = try paths.directory(name)
        var selectable = paths.isSelectable(directory)
        if name == "INBOX" && !selectable {
            try Self.makeMaildir(directory, folderMarker: false)
            selectable = paths.isSelectable(directory)
        }
        guard selectable else { throw .mailboxNotFound(name) }
        return (name, try engine(for: name))
    }

    /// Counts from the index after a cheap sync; message files are not read.
    public func status(_ name: String) throws(StorageError) -> MailboxStatus {
        let (_, engine) = try selectableEngine(name)
        return try engine.mutex.run { () throws(StorageError) -> MailboxStatus in
            try engine.refresh()
            var unseen = 0
            var deleted = 0
            var size = 0
            var recent = 0
            let recentFloor = engine.recentFloorLocked()
            for record in engine.sortedMessages() {
                if record.uid >= recentFloor { recent += 1 }
                if !record.flags.system.contains(.seen) { unseen += 1 }
                if record.flags.system.contains(.deleted) { deleted += 1 }
                size += record.virtualSize
            }
            let header = engine.index.header
            return MailboxStatus(
                messages: engine.index.records.count, unseen: unseen, deleted: deleted, recent: recent,
                uidNext: header.nextUID, uidValidity: header.uidValidity, highestModSeq: header.highestModSeq,
                size: size, mailboxID: engine.mailboxGUID)
        }
    }

    /// A Mailbox for one session, synced with the disk unless `synced` is false (delivery: only the write path).
    public func open(_ name: String, synced: Bool = true) throws(StorageError) -> Mailbox {
        let (normalized, engine) = try selectableEngine(name)
        return try Mailbox(name: normalized, engine: engine, synced: synced)
    }

    /// A file in INBOX's tmp/ for a message whose mailbox is not known yet (a big APPEND literal streamed as it
    /// arrives); `Mailbox.append(spooled:)` renames it into place, dropping the writer removes it.
    public func beginSpool() throws(StorageError) -> AppendWriter {
        try AppendWriter(mailbox: nil, tmpDirectory: "\(paths.inboxDirectory)/tmp", durable: configuration.fsync)
    }

    /// LMTP delivery: durable (fsynced file, fsynced directory, uidlist updated) before it returns the UID.
    public func deliver(
        to name: String, message: [UInt8], flags: MessageFlags = .init(), internalDate: Int64? = nil
    ) throws(StorageError) -> UInt32 {
        let mailbox = try open(name, synced: false)
        return try mailbox.append(message, flags: flags, internalDate: internalDate)
    }
}
