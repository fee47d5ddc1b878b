/// Public value types of the mail store; the IMAP, POP3 and LMTP sessions are written against these names.

/// IMAP system flags (RFC 9051 §2.3.2); `\Recent` is gone in IMAP4rev2 and not kept.
public struct SystemFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let seen = SystemFlags(rawValue: 1 << 0)
    public static let answered = SystemFlags(rawValue: 1 << 1)
    public static let flagged = SystemFlags(rawValue: 1 << 2)
    public static let deleted = SystemFlags(rawValue: 1 << 3)
    public static let draft = SystemFlags(rawValue: 1 << 4)
}

/// System flags plus keywords; keywords keep their order, are unique and compared case-insensitively.
public struct MessageFlags: Sendable, Equatable {
    public var system: SystemFlags
    public var keywords: [String]

    public init(system: SystemFlags = [], keywords: [String] = []) {
        self.system = system
        self.keywords = []
        for keyword in keywords where !self.contains(keyword: keyword) { self.keywords.append(keyword) }
    }

    public func contains(keyword: String) -> Bool {
        keywords.contains { $0.lowercased() == keyword.lowercased() }
    }

    /// Equality ignores keyword order and case: flags are a set in IMAP.
    public static func == (lhs: MessageFlags, rhs: MessageFlags) -> Bool {
        lhs.system == rhs.system && Set(lhs.keywords.map { $0.lowercased() }) == Set(rhs.keywords.map { $0.lowercased() })
    }
}

public enum MailboxLayout: String, Sendable {
    case maildirPlusPlus
    case fs
}

public struct MailStoreConfiguration: Sendable, Equatable {
    /// The user's Maildir (mail_path expanded).
    public var root: String
    public var layout: MailboxLayout
    /// mail_inbox_path; nil means the root Maildir is INBOX (Dovecot's default for both layouts).
    public var inboxPath: String?
    /// mail_index_path; nil keeps `aerie.index` inside each mailbox directory.
    public var indexPath: String?
    /// Turning this off trades crash safety for speed (tests, benchmarks of the worst case).
    public var fsync: Bool
    /// How long to wait for `dovecot-uidlist.lock` before giving up (Dovecot: stale timeout + 2 s).
    public var lockTimeoutSeconds: Int
    /// The hierarchy separator clients see (the namespace's `separator`); storage names always use `/`. A directory
    /// level holding it (LAYOUT=fs `a.b` with `.`) reads as two levels, as Dovecot lists it, and no level is made with it.
    public var separator: Character
    /// Test hook: fail a commit after the rename into new/ or cur/, to prove the rollback.
    var failCommitAfterRename = false
    /// How old a directory mtime must be before it is trusted on its own, and how long one seen younger spares the
    /// listing (Dovecot's MAILDIR_SYNC_SECS). Tests lengthen it so a slow run cannot make a verifying listing fall due.
    var syncWindowNs: Int64 = 1_000_000_000
    /// What the sync window is measured with; tests pass a clock of their own and move it instead of sleeping.
    public var clock: StorageClock = .system

    public init(
        root: String, layout: MailboxLayout = .maildirPlusPlus, inboxPath: String? = nil, indexPath: String? = nil,
        fsync: Bool = true, separator: Character = "/"
    ) {
        self.root = root
        self.layout = layout
        self.inboxPath = inboxPath
        self.indexPath = indexPath
        self.fsync = fsync
        self.separator = separator
        self.lockTimeoutSeconds = 122
    }
}

public enum MailboxAttribute: String, Sendable, Hashable {
    case noSelect = "\\Noselect"
    case noInferiors = "\\Noinferiors"
    case hasChildren = "\\HasChildren"
    case hasNoChildren = "\\HasNoChildren"
    case nonExistent = "\\NonExistent"
    case subscribed = "\\Subscribed"
    case marked = "\\Marked"
    case unmarked = "\\Unmarked"
}

public struct MailboxListing: Sendable, Equatable {
    /// "INBOX", "Sent", "Lists/dev": "/" separated, UTF-8.
    public var name: String
    public var attributes: Set<MailboxAttribute>

    public init(name: String, attributes: Set<MailboxAttribute>) {
        self.name = name
        self.attributes = attributes
    }
}

/// One message as the index and the sessions see it. The index keeps an array of these in UID order and a selected
/// mailbox's view shares it (copy on write), so a mailbox of 100,000 messages is held once, not once per view.
public struct MessageRecord: Sendable, Equatable {
    public var uid: UInt32
    /// The file is in new/ (not yet seen by any client), else in cur/. Next to the UID, in that word's padding.
    var inNew: Bool
    /// Resolved from the file name's info letters and the mailbox's keyword table (MailboxIndex keeps it current).
    public var flags: MessageFlags
    /// Bytes on disk (the S= value).
    public var size: Int
    /// RFC822.SIZE: the size with CRLF line endings (the W= value).
    public var virtualSize: Int
    /// Unix seconds; the file's mtime, as Dovecot uses it.
    public var internalDate: Int64
    public var saveDate: Int64
    public var modSeq: UInt64
    /// Kept as the index holds it (a slice of the index file), decoded only when `fileName` is asked for.
    var name: StoredFileName

    /// Current name inside cur/ or new/.
    public var fileName: String {
        get { name.string }
        set { name = StoredFileName(newValue) }
    }

    var base: String { name.base }

    public init(
        uid: UInt32, flags: MessageFlags, size: Int, virtualSize: Int, internalDate: Int64, saveDate: Int64,
        modSeq: UInt64, fileName: String
    ) {
        self.init(
            uid: uid, modSeq: modSeq, size: size, virtualSize: virtualSize, internalDate: internalDate,
            saveDate: saveDate, inNew: false, name: StoredFileName(fileName), flags: flags)
    }

    /// As the index stores it; `flags` are filled in when the record goes into a MailboxIndex.
    init(
        uid: UInt32, modSeq: UInt64, size: Int, virtualSize: Int, internalDate: Int64, saveDate: Int64, inNew: Bool,
        name: StoredFileName, flags: MessageFlags = MessageFlags()
    ) {
        self.uid = uid
        self.inNew = inNew
        self.flags = flags
        self.size = size
        self.virtualSize = virtualSize
        self.internalDate = internalDate
        self.saveDate = saveDate
        self.modSeq = modSeq
        self.name = name
    }

    init(
        uid: UInt32, modSeq: UInt64, size: Int, virtualSize: Int, internalDate: Int64, saveDate: Int64, inNew: Bool,
        fileName: String
    ) {
        self.init(
            uid: uid, modSeq: modSeq, size: size, virtualSize: virtualSize, internalDate: internalDate,
            saveDate: saveDate, inNew: inNew, name: StoredFileName(fileName))
    }
}

public struct MailboxStatus: Sendable, Equatable {
    public var messages: Int
    public var unseen: Int
    public var deleted: Int
    /// RFC 3501 §2.3.2: messages no session has claimed as \Recent yet.
    public var recent: Int
    public var uidNext: UInt32
    public var uidValidity: UInt32
    public var highestModSeq: UInt64
    /// Sum of virtualSize (STATUS SIZE).
    public var size: Int
    /// RFC 8474 §4 MAILBOXID: the mailbox GUID of dovecot-uidlist (kept across RENAME, as the file moves along).
    public var mailboxID = ""
}

public struct MailboxChanges: Sendable, Equatable {
    public var added: [MessageRecord]
    public var expunged: [UInt32]
    public var flagsChanged: [MessageRecord]

    public init(added: [MessageRecord] = [], expunged: [UInt32] = [], flagsChanged: [MessageRecord] = []) {
        self.added = added
        self.expunged = expunged
        self.flagsChanged = flagsChanged
    }

    public var isEmpty: Bool { added.isEmpty && expunged.isEmpty && flagsChanged.isEmpty }
}

public enum StoreMode: Sendable {
    case add, remove, replace
}

public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    case mailboxNotFound(String)
    case mailboxExists(String)
    case invalidName(String)
    /// The name's directory would be longer than the file system allows.
    case nameTooLong(String)
    case hasChildren(String)
    case cannotDeleteInbox
    case messageNotFound(UInt32)
    case lockTimeout(String)
    case quotaExceeded
    /// Maildir file names have 26 keyword letters; a 27th keyword of a mailbox cannot be stored.
    case tooManyKeywords
    case io(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .mailboxNotFound(let name): "Mailbox doesn't exist: \(name)"
        case .mailboxExists(let name): "Mailbox already exists: \(name)"
        case .invalidName(let name): "Invalid mailbox name: \(name)"
        case .nameTooLong(let name): "Mailbox name too long: \(name)"
        case .hasChildren(let name): "Mailbox has children, delete them first: \(name)"
        case .cannotDeleteInbox: "INBOX can't be deleted"
        case .messageNotFound(let uid): "Message UID \(uid) doesn't exist"
        case .lockTimeout(let path): "Timeout waiting for lock \(path)"
        case .quotaExceeded: "Quota exceeded"
        case .tooManyKeywords: "Too many keywords (a Maildir mailbox holds 26)"
        case .io(let path, let code): "I/O error on \(path): \(errnoText(code)) (errno \(code))"
        }
    }

    /// Temporary failures (LMTP answers 4xx so the MTA retries).
    public var isTemporary: Bool {
        switch self {
        case .lockTimeout, .io: true
        default: false
        }
    }
}
