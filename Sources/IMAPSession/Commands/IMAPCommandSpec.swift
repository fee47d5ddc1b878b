public import IMAPProtocol

/// One IMAP command's entry in the command table, as Dovecot's `imap-commands.c` registers each `cmd-*.c`: the
/// states it is valid in, how it treats expunges and the disk, and who answers it.
public struct IMAPCommandSpec: Sendable {
    /// RFC 9051 §3: the states a command is valid in.
    public enum AllowedState: Sendable, Equatable {
        case any, notAuthenticated, authenticated, selected
    }

    /// Answered by the connection's state machine, with no mailbox access.
    typealias SessionHandler = @Sendable (inout IMAPSession, IMAPCommand) -> [IMAPSessionAction]

    /// Answered by the mail session, on the mail pool.
    enum MailHandler: Sendable {
        /// Returns everything it answers: untagged responses in the result, sent before any change notifications.
        case returning(@Sendable (MailSession, IMAPCommand) throws -> MailSession.CommandResult)
        /// Writes its untagged responses as it goes, so big answers (FETCH bodies, LIST of many mailboxes, SEARCH
        /// results) stream under the transport's backpressure instead of piling up in memory.
        case streaming(@Sendable (MailSession, IMAPCommand, any IMAPOutput) throws -> MailSession.CommandResult)
    }

    /// Upper-cased, with `UID ` before a UID form: `IMAPCommandKind.name`.
    public let name: String
    public let state: AllowedState
    /// RFC 9051 §7.5.1, RFC 3501 §7.4.1: false while FETCH, STORE, SEARCH, SORT and THREAD by sequence number run,
    /// so no EXPUNGE renumbers the messages they name. Their UID forms may announce expunges, and so may COPY, as
    /// Dovecot's does.
    public let allowsExpunges: Bool
    /// It fsyncs or rewrites files, so the transport runs it on the wide pool; reads stay on the per-core one.
    public let runsOnDiskPool: Bool
    /// The tagged BAD's text in a state the command is not valid in, when not the usual "… is not valid …".
    let wrongStateText: String?
    let session: SessionHandler?
    let mail: MailHandler?

    init(
        _ name: String, state: AllowedState, allowsExpunges: Bool = true, runsOnDiskPool: Bool = false,
        wrongStateText: String? = nil, session: SessionHandler? = nil, mail: MailHandler? = nil
    ) {
        self.name = name
        self.state = state
        self.allowsExpunges = allowsExpunges
        self.runsOnDiskPool = runsOnDiskPool
        self.wrongStateText = wrongStateText
        self.session = session
        self.mail = mail
    }
}

/// The command table: the one place that says, per command, where it is valid and who answers it. Each entry is
/// defined beside its handler in `Commands/Command+<Name>.swift`.
public enum IMAPCommands {
    static let entries: [IMAPCommandSpec] =
        [capability, noop, logout, id, starttls, login, authenticate, unauthenticate, compress, enable]
        + [select, examine, create, delete, rename, subscribe, unsubscribe, list, lsub, namespace, status, append]
        + [idle, check, close, unselect, expunge, uidExpunge, search, uidSearch, fetch, uidFetch, store, uidStore]
        + [copy, uidCopy, move, uidMove, sort, uidSort, thread, uidThread, cancelUpdate, notify]
        + quota + unsupported

    /// Every command the parser knows (`IMAPCommandNames.commands`) has exactly one entry, keyed by its name;
    /// `CommandTableTests` checks both ways.
    public static let all: [String: IMAPCommandSpec] = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })

    public static func spec(for command: IMAPCommand) -> IMAPCommandSpec? {
        all[command.kind.name]
    }
}

extension IMAPSession {
    /// A command reached a handler that is not its own: a table bug, answered as an unsupported command.
    func misrouted(_ command: IMAPCommand) -> [IMAPSessionAction] {
        [.send(.tagged(command.tag, .bad, nil, "\(Self.commandName(command)) is not supported."))]
    }
}

extension CommandFailure {
    /// A command reached a handler that is not its own, or one the table says Aerie does not support.
    static func unsupported(_ command: IMAPCommand) -> CommandFailure {
        CommandFailure(.bad, nil, "\(IMAPSession.commandName(command)) is not supported.")
    }
}
