public import AerieAuth
public import AerieCore
public import AerieStorage
public import IMAPProtocol

/// The authenticated and selected states (RFC 9051 §3.2, §3.3): one per logged-in connection.
///
/// Every method blocks on disk I/O, so the transport calls it from the mail thread pool, never from an event loop,
/// and never twice at once for the same connection.
public final class MailSession: @unchecked Sendable {
    public let user: AuthenticatedUser
    let store: MailStore
    let settings: MailSessionSettings
    var view: MailboxView?
    var enabled: Set<String> = []
    /// RFC 5182 SEARCHRES: the UIDs saved by `SEARCH RETURN (SAVE)`, referred to as `$`.
    var savedSearch: [UInt32] = []
    /// RFC 5267 §4: the results kept up to date for `SEARCH RETURN (UPDATE)` (SearchUpdates.swift).
    var searchUpdates = SearchUpdates()
    /// RFC 5465 NOTIFY: what the client watches (MailSession+Notify.swift); nil when NOTIFY is not set.
    var notifyState: NotifyState?
    var idleTag: IMAPTag?
    /// Big APPEND literals of the command being received, streamed to disk as they arrive, by their offset in the
    /// command unit (`AppendMessage.literalOffset`); dropped (and their files removed) after each command.
    var spools: [Int: AppendWriter] = [:]
    private var spoolFailure: (any Error)?
    private var currentSpool: AppendWriter?

    let log: any LogSink
    let logCategory: String

    public init(
        user: AuthenticatedUser, store: MailStore, settings: MailSessionSettings, log: any LogSink = DiscardingLogSink(),
        sessionID: String = ""
    ) {
        self.user = user
        self.store = store
        self.settings = settings
        self.log = log
        self.logCategory = "imap(\(LogSafe.userName(user.user)))<\(sessionID)>"
    }

    /// Mailboxes the configuration wants to exist (Dovecot's `mailbox X { auto = create|subscribe }`).
    public func prepareAutoMailboxes() {
        // Most configurations have none: no listing and no subscriptions read at every login then.
        guard settings.autoMailboxes.contains(where: { $0.auto != "no" }) else { return }
        let existing = Set(((try? store.list()) ?? []).map(\.name))
        let subscribed = Set((try? store.subscriptions()) ?? [])
        for mailbox in settings.autoMailboxes where mailbox.auto != "no" {
            guard let name = storageName(mailbox.name) else { continue }
            if !existing.contains(name) { try? store.create(name) }
            if mailbox.auto == "subscribe" && !subscribed.contains(name) { try? store.subscribe(name) }
        }
    }

    var utf8Enabled: Bool { enabled.contains("UTF8=ACCEPT") }
    var condstoreEnabled: Bool { enabled.contains("CONDSTORE") || enabled.contains("QRESYNC") }
    var qresyncEnabled: Bool { enabled.contains("QRESYNC") }

    /// Capabilities after login: exactly what this session implements.
    public static let capabilities = [
        "IMAP4rev2", "IMAP4rev1", "ID", "ENABLE", "LITERAL+", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT",
        "CHILDREN", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES",
        "STATUS=SIZE", "SAVEDATE", "OBJECTID", "UTF8=ACCEPT", "BINARY", "MULTIAPPEND", "SORT", "SORT=DISPLAY", "ESORT",
        "CONTEXT=SEARCH", "CATENATE", "NOTIFY",
        "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "COMPRESS=DEFLATE", "UNAUTHENTICATE",
        "CREATE-SPECIAL-USE",
    ]

    /// RFC 7889 §3: `APPENDLIMIT=n` joins the list when one limit applies to every mailbox, as `appendLimit` does.
    public static func capabilities(appendLimit: Int?) -> [String] {
        guard let appendLimit else { return capabilities }
        return capabilities + ["APPENDLIMIT=\(appendLimit)"]
    }

    // MARK: - Streamed literals

    /// A literal too big to hold in memory begins (the framer's `spoolStart`); its data follows in `writeSpool`.
    public func beginSpool(offset: Int) {
        currentSpool = nil
        guard spoolFailure == nil else { return }
        do {
            let writer = try store.beginSpool()
            spools[offset] = writer
            currentSpool = writer
        } catch {
            spoolFailure = error
        }
    }

    public func writeSpool(_ bytes: [UInt8]) {
        guard let writer = currentSpool, spoolFailure == nil else { return }
        do {
            try writer.write(bytes)
        } catch {
            spoolFailure = error
        }
    }

    /// The spooled data of an APPEND message; a write that failed fails the command (the client gets NO).
    func takeSpool(at offset: Int) throws -> AppendWriter? {
        if let spoolFailure {
            if case .io = spoolFailure as? StorageError { log.error(logCategory, "APPEND spool failed: \(spoolFailure)") }
            throw spoolFailure
        }
        return spools.removeValue(forKey: offset)
    }

    private func dropSpools() {
        spools.removeAll()
        currentSpool = nil
        spoolFailure = nil
    }

    // MARK: - Dispatch

    /// Runs one command of the authenticated/selected state and writes every response, tagged one last; the
    /// command's table entry (Commands/) says whether expunges may be announced around it.
    public func execute(_ command: IMAPCommand, output: any IMAPOutput) {
        let tag = command.tag
        let spec = IMAPCommands.spec(for: command)
        let allowsExpunges = spec?.allowsExpunges ?? true
        let result: CommandResult
        defer { dropSpools() }
        do {
            result = try run(command, spec: spec, output: output)
        } catch let error as StorageError {
            // The client is told only that something failed; the admin gets the path and errno.
            if case .io = error { log.error(logCategory, "\(IMAPSession.commandName(command)) failed: \(error)") }
            output.send(.tagged(tag, .no, error.responseCode, error.clientText))
            notifyChanges(output: output, allowExpunge: allowsExpunges)
            return
        } catch let error as CommandFailure {
            output.send(.tagged(tag, error.status, error.code, error.text))
            return
        } catch {
            output.send(.tagged(tag, .no, .serverBug, "Internal error"))
            return
        }
        if result.notify { notifyChanges(output: output, allowExpunge: allowsExpunges) }
        deliverNotifications(output: output, betweenCommands: false)
        if let final = result.final { output.send(final(tag)) }
    }

    struct CommandResult {
        /// Untagged responses of a handler that returns its answer, sent before any change notifications.
        var untagged: [IMAPResponse] = []
        var final: (@Sendable (IMAPTag) -> IMAPResponse)?
        var notify = true

        init(untagged: [IMAPResponse] = [], final: (@Sendable (IMAPTag) -> IMAPResponse)?, notify: Bool = true) {
            self.untagged = untagged
            self.final = final
            self.notify = notify
        }

        static func ok(_ text: String, code: IMAPResponseCode? = nil, untagged: [IMAPResponse] = []) -> CommandResult {
            CommandResult(untagged: untagged, final: { .tagged($0, .ok, code, text) })
        }
    }

    /// The selected state is checked here, before the handler, as Dovecot's command flags do.
    func run(_ command: IMAPCommand, spec: IMAPCommandSpec?, output: any IMAPOutput) throws -> CommandResult {
        guard let spec, let handler = spec.mail else { throw CommandFailure.unsupported(command) }
        if spec.state == .selected { try requireSelected() }
        switch handler {
        case .returning(let handle):
            let result = try handle(self, command)
            for response in result.untagged { output.send(response) }
            return result
        case .streaming(let handle):
            return try handle(self, command, output)
        }
    }

    // MARK: - IDLE (RFC 2177)

    public var isIdling: Bool { idleTag != nil }

    // MARK: - Selected state

    @discardableResult
    func requireSelected() throws -> MailboxView {
        guard let view else { throw CommandFailure(.bad, nil, "No mailbox selected.") }
        return view
    }

    /// Picks up changes from other sessions and deliveries and announces them (RFC 9051 §5.2), keeping the rules of
    /// `MailboxView`: expunges first (when allowed), then new keywords, flag changes, EXISTS and RECENT.
    func notifyChanges(output: any IMAPOutput, allowExpunge: Bool) {
        guard var current = view, let changes = try? current.mailbox.sync() else { return }
        if changes.isEmpty && (current.pendingExpunges.isEmpty || !allowExpunge)
            && current.recent.count == current.reportedRecent && searchUpdates.isEmpty
        {
            return
        }
        let announced = current
        let notes = current.absorb(changes, allowExpunge: allowExpunge, highestModSeq: current.mailbox.highestModSeq)
        // RFC 5267 §4.3: REMOVEFROM is numbered as the client knows the messages, so it goes before the EXPUNGEs.
        let searchRound = announceSearchRemovals(announced: announced, current: current, output: output)
        announceExpunges(notes, output: output)
        if notes.exists != nil && !enabled.contains("IMAP4REV2") { updateRecent(in: &current) }
        if !notes.flagChanges.isEmpty || notes.exists != nil { announceKeywords(in: &current, output: output) }
        for (sequence, record) in notes.flagChanges {
            var builder = FetchResponseBuilder(sequenceNumber: UInt32(sequence))
            builder.flags(flagList(record, in: current))
            builder.uid(record.uid)
            if condstoreEnabled { builder.modSeq(record.modSeq) }
            output.sendRaw(builder.bytes)
        }
        if let exists = notes.exists { output.send(.untagged(IMAPResponseLine.exists(UInt32(exists)))) }
        // As Dovecot's imap-sync.c: RECENT follows whenever the count the client last heard changed.
        if !enabled.contains("IMAP4REV2") && current.recent.count != current.reportedRecent {
            current.reportedRecent = current.recent.count
            output.send(.untagged(IMAPResponseLine.recent(UInt32(current.recent.count))))
        }
        current.share(current.mailbox.messages)
        announceSearchAdditions(searchRound, current: current, output: output)
        view = current
    }

    func announceExpunges(_ notes: MailboxView.Notifications, output: any IMAPOutput) {
        if qresyncEnabled {
            guard !notes.vanished.isEmpty else { return }
            output.send(.untagged(IMAPResponseLine.vanished(notes.vanished, earlier: false)))
        } else {
            for (sequence, _) in notes.expunged { output.send(.untagged(IMAPResponseLine.expunge(UInt32(sequence)))) }
        }
    }

    /// RFC 7162 §3.1: a CONDSTORE-enabling command (FETCH MODSEQ or CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH
    /// MODSEQ, STATUS HIGHESTMODSEQ) turns CONDSTORE on, and with a mailbox selected the client hears its
    /// HIGHESTMODSEQ right away.
    func enableCondstore(output: any IMAPOutput) {
        if let response = enableCondstore() { output.send(response) }
    }

    /// `enableCondstore(output:)` for a handler that returns its responses: the HIGHESTMODSEQ line, if any.
    func enableCondstore() -> IMAPResponse? {
        guard !condstoreEnabled else { return nil }
        enabled.insert("CONDSTORE")
        guard var current = view else { return nil }
        let modSeq = current.reportableModSeq()
        view = current
        return .untaggedStatus(.ok, IMAPResponseCode.highestModSeq(modSeq), "Highest")
    }

    /// RFC 3501 §2.3.2: a read-write session claims the messages no session has learnt of; EXAMINE only looks.
    func updateRecent(in view: inout MailboxView) {
        let floor = view.readOnly ? view.mailbox.recentFloor : view.mailbox.claimRecent(through: view.lastUID)
        view.markRecent(from: floor)
    }

    /// `MailboxView` rule 4: keywords defined since the last FLAGS are announced before any FETCH uses them.
    func announceKeywords(in view: inout MailboxView, output: any IMAPOutput) {
        let names = view.mailbox.keywords
        guard names.contains(where: { !view.announcedKeywords.contains($0.lowercased()) }) else { return }
        sendFlags(names, in: &view, output: output)
    }

    /// Untagged FLAGS and, for a read-write mailbox, PERMANENTFLAGS (RFC 9051 §7.3.5, §7.1).
    func sendFlags(_ keywords: [String], in view: inout MailboxView, output: any IMAPOutput) {
        let flags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft] + keywords.map { Flag.keyword($0) }
        output.send(.untagged(IMAPResponseLine.flags(flags)))
        if !view.readOnly {
            let permanent = view.mailbox.acceptsNewKeywords ? flags + [.wildcard] : flags
            output.send(.untaggedStatus(.ok, IMAPResponseCode.permanentFlags(permanent), "Flags permitted."))
        }
        view.announcedKeywords = Set(keywords.map { $0.lowercased() })
    }

    /// A message's flags as this session reports them: \Recent joins for IMAP4rev1 sessions (RFC 3501 §2.3.2).
    func flagList(_ record: MessageRecord, in view: MailboxView) -> [Flag] {
        var flags = record.flags.imapFlags
        if view.isRecent(record.uid) { flags.append(.recent) }
        return flags
    }

    // MARK: - Helpers

    /// The storage name of a client's mailbox argument: modified UTF-7 for rev1 clients, UTF-8 after UTF8=ACCEPT.
    func name(_ mailbox: MailboxName) throws -> String {
        // A name the client's encoding cannot hold is a well-formed argument naming no mailbox: NO, in Dovecot's words.
        guard let decoded = mailbox.decoded(utf8Enabled: utf8Enabled) else {
            throw CommandFailure(.no, nil, "Mailbox name is not valid \(utf8Enabled ? "UTF-8" : "mUTF-7").")
        }
        guard !decoded.isEmpty else { throw CommandFailure(.bad, nil, "Invalid mailbox name.") }
        var trimmed = decoded
        while trimmed.last == settings.separator && trimmed.count > 1 { trimmed.removeLast() }
        guard let stored = storageName(trimmed) else {
            // Dovecot's words for each layout: Maildir++'s list refuses `/` itself; with LAYOUT=fs `/` is the list's
            // own separator, which mailbox_verify_name refuses when clients use another.
            let reason =
                store.configuration.layout == .fs
                ? "Character not allowed in mailbox name: '/'"
                : "Invalid mailbox name: Name must not have '/' characters"
            throw CommandFailure(.no, .cannot, reason)
        }
        return stored.uppercased() == "INBOX" ? "INBOX" : stored
    }

    /// A name as the client writes it (with `settings.separator`) in storage form (with `/`); nil when it holds a
    /// `/` that is not the separator, which storage could not keep apart from a hierarchy level.
    func storageName(_ clientName: String) -> String? {
        let separator = settings.separator
        if separator == "/" { return clientName }
        if clientName.contains("/") { return nil }
        return String(clientName.map { $0 == separator ? "/" : $0 })
    }

    /// A storage name as the client sees it: hierarchy levels joined with `settings.separator`.
    func clientName(_ storageName: String) -> String {
        let separator = settings.separator
        if separator == "/" { return storageName }
        return String(storageName.map { $0 == "/" ? separator : $0 })
    }

    /// UIDs named by a sequence set, in the client's view (RFC 9051 §6.4.8 UID forms).
    func resolve(_ set: SequenceSet, uid: Bool) throws -> [UInt32] {
        let selected = try requireSelected()
        if set.isSearchResult { return savedSearch.filter { selected.sequenceNumber(of: $0) != nil } }
        let uids = selected.uids
        if uid {
            let max = uids.last ?? 0
            return uids.filter { set.contains($0, max: max) }
        }
        let count = UInt32(uids.count)
        guard let numbers = set.expanded(max: count, limit: uids.count + 1) else { return uids }
        return numbers.compactMap { $0 >= 1 && $0 <= count ? uids[Int($0) - 1] : nil }
    }
}

/// A command's failure, as the client sees it.
struct CommandFailure: Error {
    var status: IMAPStatus
    var code: IMAPResponseCode?
    var text: String

    init(_ status: IMAPStatus, _ code: IMAPResponseCode?, _ text: String) {
        self.status = status
        self.code = code
        self.text = text
    }
}

extension StorageError {
    /// RFC 5530 response codes for storage failures.
    var responseCode: IMAPResponseCode? {
        switch self {
        case .mailboxNotFound: .other("NONEXISTENT")
        case .mailboxExists: .other("ALREADYEXISTS")
        case .invalidName, .nameTooLong, .cannotDeleteInbox: .cannot
        case .hasChildren: .other("INUSE")
        case .messageNotFound: .other("EXPUNGEISSUED")
        case .lockTimeout: .other("INUSE")
        case .quotaExceeded: .other("OVERQUOTA")
        case .tooManyKeywords: .limit
        case .io: .serverBug
        }
    }

    /// What the client reads: never a path on the server.
    var clientText: String {
        switch self {
        case .mailboxNotFound: "Mailbox doesn't exist."
        case .mailboxExists: "Mailbox already exists."
        case .invalidName: "Invalid mailbox name."
        case .nameTooLong: "Mailbox name too long."
        case .hasChildren: "Mailbox has children, delete them first."
        case .cannotDeleteInbox: "INBOX can't be deleted."
        case .messageNotFound: "Some of the requested messages no longer exist."
        case .lockTimeout: "Mailbox is locked, try again later."
        case .quotaExceeded: "Quota exceeded."
        case .tooManyKeywords: "Too many keywords in this mailbox (Maildir holds 26)."
        case .io: "Internal error occurred. Refer to server log for more information."
        }
    }
}

extension MessageFlags {
    var imapFlags: [Flag] {
        var flags: [Flag] = []
        if system.contains(.answered) { flags.append(.answered) }
        if system.contains(.flagged) { flags.append(.flagged) }
        if system.contains(.deleted) { flags.append(.deleted) }
        if system.contains(.seen) { flags.append(.seen) }
        if system.contains(.draft) { flags.append(.draft) }
        return flags + keywords.map { Flag.keyword($0) }
    }

    init(imapFlags: [Flag]) {
        var system: SystemFlags = []
        var keywords: [String] = []
        for flag in imapFlags {
            switch flag {
            case .answered: system.insert(.answered)
            case .flagged: system.insert(.flagged)
            case .deleted: system.insert(.deleted)
            case .seen: system.insert(.seen)
            case .draft: system.insert(.draft)
            case .keyword(let name): if !keywords.contains(where: { $0.lowercased() == name.lowercased() }) { keywords.append(name) }
            case .recent, .wildcard: break
            }
        }
        self.init(system: system, keywords: keywords)
    }
}
