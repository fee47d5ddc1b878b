/// The transport policies of one IMAP, POP3 or LMTP connection, without sockets or a clock (issue 11): the
/// driver (a NIO handler) feeds it events with the time they happened and performs the actions it returns. It owns
/// the login and idle timeouts, the TLS handshake deadline, the pipelining bound, the STARTTLS ordering, waiting for
/// asynchronous work, and closing (goodbye, then close, then a forced close if the peer never takes our bytes).
///
/// Hot events (a command, the end of the input) return small values; rare ones return a list of actions.
public struct ConnectionStateMachine: Sendable {
    /// Monotonic time as the driver's clock gives it; only differences matter.
    public struct Instant: Comparable, Hashable, Sendable {
        public var nanoseconds: Int64
        public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
        public static func + (lhs: Instant, rhs: Duration) -> Instant {
            Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanosecondCount)
        }
    }

    public struct Configuration: Sendable {
        /// Until login: the whole time a client has to log in (commands do not renew it).
        public var loginTimeout: Duration
        /// After login: the time without a command before the connection is dropped.
        public var idleTimeout: Duration
        /// An implicit-TLS or STARTTLS handshake must end within it.
        public var tlsHandshakeTimeout: Duration
        public var maxPipelinedPreLogin: Int
        public var maxPipelinedPostLogin: Int
        /// After a close: how long the peer has to take our last bytes before the socket goes anyway.
        public var closeGrace: Duration

        public init(
            loginTimeout: Duration, idleTimeout: Duration, tlsHandshakeTimeout: Duration,
            maxPipelinedPreLogin: Int, maxPipelinedPostLogin: Int, closeGrace: Duration = .seconds(5)
        ) {
            self.loginTimeout = loginTimeout
            self.idleTimeout = idleTimeout
            self.tlsHandshakeTimeout = tlsHandshakeTimeout
            self.maxPipelinedPreLogin = maxPipelinedPreLogin
            self.maxPipelinedPostLogin = maxPipelinedPostLogin
            self.closeGrace = closeGrace
        }
    }

    public enum Timer: Hashable, Sendable {
        /// The login or idle deadline (checked lazily: see `LazyDeadline`).
        case inactivity
        case tlsHandshake
        /// After `close`: the forced close of a peer that does not read.
        case closeGuard
    }

    public enum Action: Equatable, Sendable {
        /// Schedule `timer` at `at`, replacing the one scheduled before, and report `timerFired` with the same `at`.
        case armTimer(Timer, at: Instant)
        case cancelTimer(Timer)
        /// The protocol's goodbye (`* BYE`, `-ERR`, `421`) with `text`, then `close(reason)`: whatever was queued is
        /// dropped.
        case goodbye(text: String, reason: String)
        /// Flush what was written and close once it is out.
        case closeAfterFlush
        /// Close the socket now, written or not.
        case closeNow
        /// Drop input read but not yet handled (plaintext behind STARTTLS).
        case discardBufferedInput
        /// The protocol's greeting.
        case greet
        /// Ask the socket for more bytes (even a closing connection needs them for an implicit-TLS handshake).
        case read
        /// The protocol's goodbye with `text`, then `close(reason)`, after what is already queued.
        case goodbyeAfterQueued(text: String, reason: String)
        /// Handle buffered input and read more: the output that held it back has drained.
        case resumeInput
    }

    /// What the shared, process-wide limits said about this connection: the driver takes or releases the slots, the
    /// machine decides what the client is told.
    public enum LimitCheck: Equatable, Sendable {
        case admitted
        /// Over `login_max_connection_rate_per_ip`.
        case tooFast
        /// Over the per-IP share of the unauthenticated connections.
        case tooManyFromIP
        /// Every unauthenticated slot is taken and none could be freed.
        case preLoginFull
        /// The service's client_limit × process_limit sessions are all taken.
        case sessionsFull(limit: Int)
        /// `mail_max_userip_connections` of this user from this address.
        case userIPFull(limit: Int)
    }

    public enum Phase: Equatable, Sendable {
        case open
        /// STARTTLS answered: no plaintext is read until the TLS handler is in place (`tlsInstalled`).
        case startingTLS
        case closing
        /// The login process passed the connection on: nothing more happens here.
        case handedOff
        case closed
    }

    /// What to do with one complete command (or a chunk of a streamed literal) taken from the input.
    public enum CommandDecision: Equatable, Sendable {
        /// Handle it; when `rearm` is set, (re)schedule the inactivity check there.
        case handle(rearm: Instant?)
        /// More commands in one burst than allowed before we answered them (Dovecot's pipelining bound).
        case refuse(goodbye: String, reason: String)
    }

    public private(set) var phase: Phase = .open
    /// Asynchronous work (auth, a delay, mail pool work, a TLS switch) is in progress: input waits.
    public private(set) var isWaiting = false
    public private(set) var isAuthenticated: Bool
    /// False while what we wrote waits in memory above the channel's high-water mark: no input is handled or read.
    public private(set) var isWritable = true
    /// Why the connection ended, as logged; the first reason wins.
    public private(set) var closeReason: String?
    /// False for a connection refused without a log line of its own (a flood would flood the log) or handed over.
    public private(set) var logsDisconnect = true
    public let configuration: Configuration
    private var unitsInBurst = 0
    private var inactivity = LazyDeadline()
    private var handshakeDeadline: Instant?
    private var implicitTLS = false
    /// A service without logins (LMTP).
    private let withoutLogin: Bool

    /// `authenticated`: a connection without a login (LMTP) or one handed over after its login.
    public init(configuration: Configuration, authenticated: Bool = false) {
        self.configuration = configuration
        self.isAuthenticated = authenticated
        self.withoutLogin = authenticated
    }

    public var isClosing: Bool { phase != .open && phase != .startingTLS }
    /// Whether the driver may take the next unit of input now.
    public var canHandleInput: Bool { phase == .open && !isWaiting && isWritable }
    /// Bytes read in these phases are dropped: after a close, and between a STARTTLS answer and TLS (RFC 3207 §4,
    /// RFC 9051 §6.2.1: plaintext behind the command is an injection attempt).
    public var acceptsBytes: Bool { phase == .open }
    public var pipelineLimit: Int {
        isAuthenticated ? configuration.maxPipelinedPostLogin : configuration.maxPipelinedPreLogin
    }

    // MARK: - Events

    /// The connection is up: with implicit TLS the handshake deadline starts.
    public mutating func connected(now: Instant, implicitTLS: Bool) -> [Action] {
        self.implicitTLS = implicitTLS
        return implicitTLS ? [armHandshake(now: now)] : []
    }

    /// The connection limits were checked as the connection came (its unauthenticated slot, or for a connection
    /// without a login its session slot): greet it, or tell it why not. Over implicit TLS a refusal closes before
    /// any handshake, which would cost more than the refusal, except when the pre-login queue is full.
    public mutating func admission(_ check: LimitCheck, now: Instant) -> [Action] {
        switch check {
        case .admitted:
            return admitted(now: now) + [.greet, .read]
        case .preLoginFull:
            noteCloseReason(Self.busyReason)
            // Over implicit TLS the goodbye can only go out after the handshake, which needs reads.
            return [.goodbye(text: Self.busyText, reason: Self.busyReason), .read]
        case .tooFast:
            logsDisconnect = false
            return refuseAtOnce(
                "Too many connections from your address, slow down.", reason: "Connection rate limit exceeded")
        case .tooManyFromIP:
            return refuseAtOnce(
                "Too many connections from your address.", reason: "Too many unauthenticated connections from the IP")
        case .sessionsFull(let limit):
            let text = withoutLogin ? "Too many connections, try again later." : Self.sessionsFullText
            return refuseAtOnce(text, reason: Self.sessionLimitReason(limit: limit))
        case .userIPFull(let limit):
            return refuseAtOnce(Self.userIPLimitText(limit: limit), reason: Self.userIPLimitReason)
        }
    }

    /// At login the driver took the session and user+IP slots (or could not): the session starts, or ends with
    /// the reason.
    public mutating func loginLimitsChecked(_ check: LimitCheck, now: Instant) -> [Action] {
        switch check {
        case .admitted:
            return loggedIn(now: now)
        case .userIPFull(let limit):
            return [.goodbye(text: Self.userIPLimitText(limit: limit), reason: Self.userIPLimitReason)]
        case .sessionsFull(let limit):
            return [.goodbye(text: Self.sessionsFullText, reason: Self.sessionLimitReason(limit: limit))]
        case .tooFast, .tooManyFromIP, .preLoginFull:
            return [.goodbye(text: Self.busyText, reason: Self.busyReason)]
        }
    }

    /// After UNAUTHENTICATE the connection takes an unauthenticated slot again: without one, it ends after the
    /// answers already queued.
    public func preLoginRechecked(_ check: LimitCheck) -> [Action] {
        guard check != .admitted else { return [] }
        return [.goodbyeAfterQueued(text: Self.busyText, reason: Self.busyReason)]
    }

    public static func sessionLimitReason(limit: Int) -> String { "client_limit × process_limit (\(limit)) reached" }
    static let busyText = "Server is busy, try again later."
    static let busyReason = "Too many unauthenticated connections"
    static let sessionsFullText = "Maximum number of sessions reached, try again later."
    static let userIPLimitReason = "Maximum number of connections from user+IP exceeded"
    static func userIPLimitText(limit: Int) -> String {
        "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=\(limit))"
    }

    /// The connection passed the connection limits and gets its greeting: the login deadline starts (a refused one
    /// only says goodbye).
    public mutating func admitted(now: Instant) -> [Action] {
        guard let at = renewInactivity(now: now, duration: configuration.loginTimeout) else { return [] }
        return [.armTimer(.inactivity, at: at)]
    }

    /// A unit of input was framed; `isCommand` is false for a chunk of a streamed literal (not a new command).
    public mutating func commandReceived(now: Instant, isCommand: Bool) -> CommandDecision {
        if isCommand { unitsInBurst += 1 }
        if unitsInBurst > pipelineLimit {
            return .refuse(goodbye: "Too many pipelined commands.", reason: "Too many pipelined commands")
        }
        guard isAuthenticated else { return .handle(rearm: nil) }
        return .handle(rearm: renewInactivity(now: now, duration: configuration.idleTimeout))
    }

    /// No complete unit is left (or input must wait): true when the driver should flush and read more. A burst ends
    /// when every byte the client sent has been answered.
    public mutating func inputExhausted(hasBufferedInput: Bool) -> Bool {
        guard canHandleInput else { return false }
        if !hasBufferedInput { unitsInBurst = 0 }
        return true
    }

    /// The channel's writability changed: a client that does not read its answers gets no more of them (each would
    /// stay in our memory) until it takes what was written. Streamed output (a big FETCH) waits for its own writes.
    public mutating func writabilityChanged(isWritable: Bool) -> [Action] {
        guard isWritable != self.isWritable else { return [] }
        self.isWritable = isWritable
        return isWritable && canHandleInput ? [.resumeInput] : []
    }

    public mutating func waitStarted() { isWaiting = true }
    public mutating func waitEnded() { isWaiting = false }

    /// The login succeeded: the idle timeout and the post-login pipelining bound apply.
    public mutating func loggedIn(now: Instant) -> [Action] {
        isAuthenticated = true
        guard let at = renewInactivity(now: now, duration: configuration.idleTimeout) else { return [] }
        return [.armTimer(.inactivity, at: at)]
    }

    /// RFC 8437 UNAUTHENTICATE: back before login, with the login timeout and a fresh burst.
    public mutating func loggedOut(now: Instant) -> [Action] {
        isAuthenticated = false
        unitsInBurst = 0
        guard let at = renewInactivity(now: now, duration: configuration.loginTimeout) else { return [] }
        return [.armTimer(.inactivity, at: at)]
    }

    /// Our STARTTLS answer is queued: input waits, and what the client pipelined behind the command is dropped.
    public mutating func startTLSRequested() -> [Action] {
        guard phase == .open else { return [] }
        phase = .startingTLS
        isWaiting = true
        return [.discardBufferedInput]
    }

    /// The answer went out and the TLS handler is in place: the handshake deadline starts; plaintext read meanwhile
    /// is dropped.
    public mutating func tlsInstalled(now: Instant) -> [Action] {
        guard phase == .startingTLS else { return [] }
        phase = .open
        isWaiting = false
        return [.discardBufferedInput, armHandshake(now: now)]
    }

    /// STARTTLS without TLS configured, or the answer could not be written.
    public mutating func tlsUnavailable() -> [Action] { closeNow(reason: nil) }

    public mutating func handshakeCompleted() -> [Action] {
        guard handshakeDeadline != nil else { return [] }
        handshakeDeadline = nil
        return [.cancelTimer(.tlsHandshake)]
    }

    /// A timer the driver scheduled for `at` fired at `now`.
    public mutating func timerFired(_ timer: Timer, at: Instant, now: Instant) -> [Action] {
        switch timer {
        case .inactivity:
            guard phase == .open || phase == .startingTLS else { return [] }
            switch inactivity.fired(now: now.nanoseconds, armedFor: at.nanoseconds) {
            case .expired: return goodbye("Disconnected for inactivity.", reason: "Inactivity")
            case .recheck:
                guard let next = inactivity.armedFor else { return [] }
                return [.armTimer(.inactivity, at: Instant(nanoseconds: next))]
            case .stale: return []
            }
        case .tlsHandshake:
            guard handshakeDeadline == at, !isClosing else { return [] }
            handshakeDeadline = nil
            return closeNow(reason: "TLS handshake timed out")
        case .closeGuard:
            guard phase == .closing else { return [] }
            return [.closeNow]
        }
    }

    /// Shutdown, `aerie adm kick`, a full pre-login queue: say goodbye now, even during a command.
    public mutating func goodbye(_ text: String, reason: String) -> [Action] {
        guard !isClosing else { return [] }
        isWaiting = false
        return [.goodbye(text: text, reason: reason)]
    }

    /// The protocol closes (after its goodbye or LOGOUT): out with what was written, then close; a peer that never
    /// reads is dropped after the grace period.
    public mutating func closeRequested(now: Instant, reason: String) -> [Action] {
        guard !isClosing else { return [] }
        phase = .closing
        noteCloseReason(reason)
        return [.closeAfterFlush, .armTimer(.closeGuard, at: now + configuration.closeGrace)]
    }

    /// Close without a goodbye (a refusal over implicit TLS, a handshake timeout, a failed TLS switch).
    public mutating func closeNow(reason: String?) -> [Action] {
        guard !isClosing else { return [] }
        phase = .closing
        if let reason { noteCloseReason(reason) }
        return [.closeNow]
    }

    /// A refusal before the greeting: plaintext clients are told why, implicit TLS closes at once.
    private mutating func refuseAtOnce(_ text: String, reason: String) -> [Action] {
        noteCloseReason(reason)
        guard !implicitTLS else { return closeNow(reason: nil) }
        return [.goodbye(text: text, reason: reason)]
    }

    /// An error or a refusal names the reason before the close itself.
    public mutating func noteCloseReason(_ reason: String) {
        if closeReason == nil { closeReason = reason }
    }

    /// The login process passed the connection to the mail service: no timer of ours may fire any more.
    public mutating func handedOff() -> [Action] {
        phase = .handedOff
        logsDisconnect = false
        isWaiting = true
        inactivity.cancel()
        handshakeDeadline = nil
        return [.cancelTimer(.inactivity), .cancelTimer(.tlsHandshake)]
    }

    /// The socket closed (either side): every timer goes.
    public mutating func peerClosed() -> [Action] {
        phase = .closed
        inactivity.cancel()
        handshakeDeadline = nil
        return [.cancelTimer(.inactivity), .cancelTimer(.closeGuard), .cancelTimer(.tlsHandshake)]
    }

    // MARK: - Helpers

    private mutating func armHandshake(now: Instant) -> Action {
        let at = now + configuration.tlsHandshakeTimeout
        handshakeDeadline = at
        return .armTimer(.tlsHandshake, at: at)
    }

    /// Moves the deadline; returns when to (re)schedule the check, or nil when the scheduled one will do.
    private mutating func renewInactivity(now: Instant, duration: Duration) -> Instant? {
        guard inactivity.renew(now: now.nanoseconds, duration: duration.nanosecondCount) else { return nil }
        return inactivity.armedFor.map { Instant(nanoseconds: $0) }
    }
}

extension Duration {
    /// Whole nanoseconds (sub-nanosecond parts dropped).
    public var nanosecondCount: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
