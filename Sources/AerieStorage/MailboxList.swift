/// Mailbox names ↔ directories for Dovecot's two Maildir layouts, and listing the tree.
///   Maildir++ (default): INBOX is the root Maildir; "Lists/dev" is `<root>/.Lists.dev` ('.' on disk, '/' to clients).
///   LAYOUT=fs: "Lists/dev" is `<root>/Lists/dev`. INBOX is still the root Maildir unless mail_inbox_path is set —
///   Dovecot's maildir_storage_get_list_settings sets inbox_path = root_dir for both layouts.
/// Each level is stored in modified UTF-7 ("Entwürfe" → `.Entw&APw-rfe`), as Dovecot does without the UTF-8 option.
/// With a client separator other than `/` (LAYOUT=fs and `separator = .`), a directory level holding it (`a.b`) cannot
/// round-trip: clients read "a.b" as "a" › "b", which leads to `a/b`. As Dovecot does, it is listed under that reading,
/// \Noselect unless `a/b` exists too (then once, as that mailbox), and never opened, renamed or deleted: its mail stays
/// on disk untouched. No level is created with the separator in it.
enum MailboxNames {
    static func isInbox(_ name: String) -> Bool { name.uppercased() == "INBOX" }

    /// "inbox" → "INBOX", "INBOX/x" keeps its case for the child; a trailing "/" is dropped (CREATE "Foo/").
    static func normalize(_ raw: String) throws(StorageError) -> String {
        var name = raw
        while name.hasSuffix("/") { name.removeLast() }
        guard !name.isEmpty else { throw .invalidName(raw) }
        var levels = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if isInbox(levels[0]) { levels[0] = "INBOX" }
        return levels.joined(separator: "/")
    }
}

struct MailboxPaths {
    let root: String
    let layout: MailboxLayout
    let inboxPath: String?
    let indexRoot: String?
    /// The separator clients see; see `MailboxNames`.
    var separator: Character = "/"

    var inboxDirectory: String { inboxPath ?? root }

    /// Checks every level; the rules are Dovecot's: no empty levels, no control characters, no '.' inside a level in
    /// Maildir++ (it is the disk separator), no hidden levels or Maildir's own cur/new/tmp names in fs layout.
    func validate(_ name: String) throws(StorageError) -> [String] {
        let levels = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for level in levels {
            guard !level.isEmpty, level != ".", level != ".." else { throw .invalidName(name) }
            if level.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { throw .invalidName(name) }
            // It would come back to clients as two levels (Dovecot: "Character not allowed in mailbox name").
            if separator != "/" && level.contains(separator) { throw .invalidName(name) }
            switch layout {
            case .maildirPlusPlus:
                if level.contains(".") { throw .invalidName(name) }
            case .fs:
                if level.hasPrefix(".") || ["cur", "new", "tmp"].contains(level) { throw .invalidName(name) }
            }
            if level.hasPrefix("~") { throw .invalidName(name) }
        }
        return levels
    }

    /// The on-disk name relative to the root (".Lists.dev" or "Lists/dev"); "" for INBOX in the root.
    /// A name whose directory name would pass NAME_MAX is refused here (Dovecot: "Mailbox name too long"), before any
    /// file system call fails on it.
    func relativePath(_ name: String) throws(StorageError) -> String {
        if name == "INBOX" { return "" }
        let levels = try validate(name).map { ModifiedUTF7.encode($0) }
        let components: [String]
        switch layout {
        case .maildirPlusPlus: components = ["." + levels.joined(separator: ".")]
        case .fs: components = levels
        }
        if components.contains(where: { $0.utf8.count > Self.maximumDirectoryNameLength }) { throw .nameTooLong(name) }
        return components.joined(separator: "/")
    }

    /// NAME_MAX on Linux file systems; Dovecot's MAILBOX_MAX_HIERARCHY_NAME_LENGTH is the same 255 per level.
    static let maximumDirectoryNameLength = 255

    func directory(_ name: String) throws(StorageError) -> String {
        if name == "INBOX" { return inboxDirectory }
        return "\(root)/\(try relativePath(name))"
    }

    /// Where aerie.index lives: inside the mailbox, or mirrored under mail_index_path.
    func indexDirectory(_ name: String) throws(StorageError) -> String {
        guard let indexRoot else { return try directory(name) }
        let relative = try relativePath(name)
        return relative.isEmpty ? indexRoot : "\(indexRoot)/\(relative)"
    }

    func isSelectable(_ directory: String) -> Bool { FS.isDirectory("\(directory)/cur") }

    /// Every mailbox name on disk with whether it can be selected; parents that exist only implicitly are not selectable.
    func scan() throws(StorageError) -> [String: Bool] {
        var found: [String: Bool] = ["INBOX": true]
        switch layout {
        case .maildirPlusPlus:
            for entry in try FS.listDirectory(root) ?? [] {
                guard entry.name.hasPrefix("."), !entry.name.hasPrefix("..") else { continue }
                let path = "\(root)/\(entry.name)"
                guard entry.isDirectory ?? FS.isDirectory(path) else { continue }
                let levels = entry.name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
                let decoded = levels.map { ModifiedUTF7.decode(String($0)) }
                guard !decoded.contains(where: { $0 == nil || $0!.isEmpty }),
                    let visible = visibleLevels(decoded.map { $0! })
                else { continue }
                var name = visible.joined(separator: "/")
                if MailboxNames.isInbox(visible[0]) { name = (try? MailboxNames.normalize(name)) ?? name }
                record(name, selectable: true, isAlias: visible.count > decoded.count, into: &found)
            }
        case .fs:
            try walk(root, prefix: nil, isAlias: false, into: &found)
        }
        // Implicit parents ("Lists" for "Lists/dev") are \Noselect.
        for name in Array(found.keys) {
            var levels = name.split(separator: "/").map(String.init)
            while levels.count > 1 {
                levels.removeLast()
                let parent = levels.joined(separator: "/")
                if found[parent] == nil { found[parent] = false }
            }
        }
        return found
    }

    /// The levels clients see for levels on disk: one holding their separator reads as several; nil when that leaves
    /// an empty level (`a..b`), which no client name can reach at all.
    func visibleLevels(_ levels: [String]) -> [String]? {
        guard separator != "/", levels.contains(where: { $0.contains(separator) }) else { return levels }
        let split = levels.flatMap { $0.split(separator: separator, omittingEmptySubsequences: false).map(String.init) }
        return split.contains(where: \.isEmpty) ? nil : split
    }

    /// A directory under the name it leads to is what it is; one listed only under a reading that leads elsewhere
    /// (`isAlias`) is \Noselect, unless the mailbox that name leads to exists as well.
    private func record(_ name: String, selectable: Bool, isAlias: Bool, into found: inout [String: Bool]) {
        if isAlias {
            if found[name] == nil { found[name] = false }
        } else {
            found[name] = found[name] == true || selectable
        }
    }

    private func walk(
        _ directory: String, prefix: String?, isAlias parentIsAlias: Bool, into found: inout [String: Bool]
    ) throws(StorageError) {
        for entry in try FS.listDirectory(directory) ?? [] {
            guard !entry.name.hasPrefix("."), !["cur", "new", "tmp"].contains(entry.name) else { continue }
            let path = "\(directory)/\(entry.name)"
            guard entry.isDirectory ?? FS.isDirectory(path), let level = ModifiedUTF7.decode(entry.name),
                let visible = visibleLevels([level])
            else { continue }
            let isAlias = parentIsAlias || visible.count > 1
            var name = ((prefix.map { [$0] } ?? []) + visible).joined(separator: "/")
            if prefix == nil && isAlias && MailboxNames.isInbox(visible[0]) {
                name = (try? MailboxNames.normalize(name)) ?? name
            }
            if prefix == nil && !isAlias && MailboxNames.isInbox(level) {
                // <root>/INBOX holds INBOX's children when INBOX is the root itself.
                name = "INBOX"
                if inboxPath == nil || inboxPath == path {
                    try walk(path, prefix: name, isAlias: false, into: &found)
                    continue
                }
            }
            record(name, selectable: !isAlias && isSelectable(path), isAlias: isAlias, into: &found)
            try walk(path, prefix: name, isAlias: isAlias, into: &found)
        }
    }

    func listings() throws(StorageError) -> [MailboxListing] {
        let found = try scan()
        let names = found.keys.sorted { a, b in
            if a == "INBOX" { return b != "INBOX" }
            if b == "INBOX" { return false }
            return a < b
        }
        var childPrefixes = Set<String>()
        for name in names {
            var levels = name.split(separator: "/").map(String.init)
            while levels.count > 1 {
                levels.removeLast()
                childPrefixes.insert(levels.joined(separator: "/"))
            }
        }
        return names.map { name in
            var attributes: Set<MailboxAttribute> = [childPrefixes.contains(name) ? .hasChildren : .hasNoChildren]
            if found[name] == false { attributes.insert(.noSelect) }
            return MailboxListing(name: name, attributes: attributes)
        }
    }

    /// Names of existing children of `name` (any depth).
    func children(of name: String) throws(StorageError) -> [String] {
        try scan().keys.filter { $0.hasPrefix(name + "/") }.sorted()
    }
}

/// UIDVALIDITY for new mailboxes, Dovecot's mailbox_uidvalidity_next: the root's `dovecot-uidvalidity` holds the last
/// value in hex; the next is max(last + 1, now), so a mailbox deleted and re-created never reuses one.
enum UIDValidityAllocator {
    static func next(root: String, durable: Bool, lockTimeout: Int) throws(StorageError) -> UInt32 {
        var result = UInt32(truncatingIfNeeded: nowSeconds())
        let path = "\(root)/dovecot-uidvalidity"
        try DotLock.update(path, durable: durable, timeoutSeconds: lockTimeout) { current throws(StorageError) in
            let text = current.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let last = UInt32(text.trimmingWhitespace(), radix: 16) ?? 0
            let now = UInt32(truncatingIfNeeded: nowSeconds())
            result = last >= now ? last &+ 1 : now
            let hex = String(result, radix: 16)
            return Array(utf8: String(repeating: "0", count: max(0, 8 - hex.count)) + hex)
        }
        return result
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
