import Testing

@testable import AerieCore

/// The connection's transport policies driven by hand: a manual clock, no sockets, no event loop.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    typealias Instant = ConnectionStateMachine.Instant

    static let configuration = Machine.Configuration(
        loginTimeout: .seconds(60), idleTimeout: .seconds(1800), tlsHandshakeTimeout: .seconds(10),
        maxPipelinedPreLogin: 3, maxPipelinedPostLogin: 5)

    /// A clock the test moves; the machine only sees the instants it is given.
    struct ManualClock {
        var now = Instant(nanoseconds: 1_000)
        mutating func advance(_ duration: Duration) { now = now + duration }
    }

    /// The timers the driver would have scheduled, as the machine asked.
    struct Timers {
        var armed: [Machine.Timer: Instant] = [:]
        mutating func apply(_ actions: [Machine.Action]) {
            for action in actions {
                switch action {
                case .armTimer(let timer, let at): armed[timer] = at
                case .cancelTimer(let timer): armed[timer] = nil
                default: break
                }
            }
        }
    }

    /// Fires every timer due by `clock.now`, as an event loop would, and returns what the machine answered.
    static func fireDue(_ machine: inout Machine, _ timers: inout Timers, clock: ManualClock) -> [Machine.Action] {
        var all: [Machine.Action] = []
        while let (timer, at) = timers.armed.filter({ $0.value <= clock.now }).min(by: { $0.value < $1.value }) {
            timers.armed[timer] = nil
            let actions = machine.timerFired(timer, at: at, now: clock.now)
            timers.apply(actions)
            all += actions
        }
        return all
    }

    @Test func theLoginTimeoutIsNotRenewedByCommandsBeforeLogin() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        #expect(timers.armed[.inactivity] == clock.now + .seconds(60))
        clock.advance(.seconds(50))
        #expect(machine.commandReceived(now: clock.now, isCommand: true) == .handle(rearm: nil))
        #expect(machine.inputExhausted(hasBufferedInput: false) == true)
        clock.advance(.seconds(9))
        #expect(Self.fireDue(&machine, &timers, clock: clock).isEmpty)
        clock.advance(.seconds(1))
        #expect(
            Self.fireDue(&machine, &timers, clock: clock) == [
                .goodbye(text: "Disconnected for inactivity.", reason: "Inactivity")
            ])
    }

    @Test func afterLoginEveryCommandMovesTheIdleDeadlineWithoutANewTimer() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        clock.advance(.seconds(5))
        let login = machine.loggedIn(now: clock.now)
        timers.apply(login)
        // The login deadline (at 60 s) comes first: the scheduled check stays and rechecks later.
        #expect(login.isEmpty)
        clock.advance(.seconds(55))
        let start = Instant(nanoseconds: 1_000)
        #expect(Self.fireDue(&machine, &timers, clock: clock) == [.armTimer(.inactivity, at: start + .seconds(1805))])
        // A command at 1000 s moves the deadline to 2800 s: no new timer, the check at 1805 s re-arms itself.
        clock.advance(.seconds(940))
        #expect(machine.commandReceived(now: clock.now, isCommand: true) == .handle(rearm: nil))
        clock.advance(.seconds(805))
        #expect(Self.fireDue(&machine, &timers, clock: clock) == [.armTimer(.inactivity, at: start + .seconds(2800))])
        clock.advance(.seconds(995))
        #expect(Self.fireDue(&machine, &timers, clock: clock).map(\.isGoodbye) == [true])
    }

    @Test func aShorterDeadlineReArmsTheCheckEarlier() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        _ = machine.loggedIn(now: clock.now)
        // Back before login (RFC 8437): the login timeout is sooner than the idle check already armed.
        clock.advance(.seconds(70))
        _ = Self.fireDue(&machine, &timers, clock: clock)
        let logout = machine.loggedOut(now: clock.now)
        #expect(logout == [.armTimer(.inactivity, at: clock.now + .seconds(60))])
        timers.apply(logout)
        // The check replaced by the earlier one is stale when it fires.
        #expect(machine.timerFired(.inactivity, at: Instant(nanoseconds: 1_000) + .seconds(1800), now: clock.now) == [])
        clock.advance(.seconds(60))
        #expect(Self.fireDue(&machine, &timers, clock: clock).map(\.isGoodbye) == [true])
    }

    @Test func theImplicitTLSHandshakeMustEndInTime() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: true) + machine.admitted(now: clock.now))
        #expect(timers.armed[.tlsHandshake] == clock.now + .seconds(10))
        clock.advance(.seconds(10))
        #expect(Self.fireDue(&machine, &timers, clock: clock) == [.closeNow])
        #expect(machine.closeReason == "TLS handshake timed out")
        #expect(machine.isClosing && !machine.acceptsBytes)
    }

    @Test func aCompletedHandshakeCancelsItsDeadline() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: true) + machine.admitted(now: clock.now))
        clock.advance(.seconds(2))
        timers.apply(machine.handshakeCompleted())
        #expect(timers.armed[.tlsHandshake] == nil)
        // A check that was already on its way is ignored.
        #expect(machine.timerFired(.tlsHandshake, at: clock.now + .seconds(8), now: clock.now + .seconds(8)) == [])
        #expect(!machine.isClosing)
    }

    @Test func plaintextBehindSTARTTLSIsDroppedUntilTLSIsInPlace() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now)
        #expect(machine.commandReceived(now: clock.now, isCommand: true) == .handle(rearm: nil))
        // The STARTTLS answer is queued: what the client pipelined behind it is dropped, nothing more is read.
        #expect(machine.startTLSRequested() == [.discardBufferedInput])
        #expect(!machine.acceptsBytes && !machine.canHandleInput)
        #expect(machine.inputExhausted(hasBufferedInput: false) == false)
        clock.advance(.milliseconds(3))
        // Bytes that arrived before the TLS handler was added are plaintext too: dropped again.
        let installed = machine.tlsInstalled(now: clock.now)
        #expect(installed == [.discardBufferedInput, .armTimer(.tlsHandshake, at: clock.now + .seconds(10))])
        #expect(machine.acceptsBytes && machine.canHandleInput)
        // A second STARTTLS request is only answered by the protocol; the machine keeps its state consistent.
        #expect(machine.handshakeCompleted() == [.cancelTimer(.tlsHandshake)])
    }

    @Test func theSTARTTLSHandshakeHasItsOwnDeadline() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        _ = machine.startTLSRequested()
        timers.apply(machine.tlsInstalled(now: clock.now))
        clock.advance(.seconds(10))
        #expect(Self.fireDue(&machine, &timers, clock: clock) == [.closeNow])
        #expect(machine.closeReason == "TLS handshake timed out")
    }

    @Test func tooManyPipelinedCommandsBeforeLoginAreRefused() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now)
        for _ in 0..<3 { #expect(machine.commandReceived(now: clock.now, isCommand: true) == .handle(rearm: nil)) }
        #expect(
            machine.commandReceived(now: clock.now, isCommand: true)
                == .refuse(goodbye: "Too many pipelined commands.", reason: "Too many pipelined commands"))
    }

    @Test func aBurstEndsOnlyWhenEveryBufferedByteIsAnswered() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now)
        for _ in 0..<3 { _ = machine.commandReceived(now: clock.now, isCommand: true) }
        // More bytes of the same burst are still buffered: the count goes on.
        #expect(machine.inputExhausted(hasBufferedInput: true) == true)
        #expect(machine.commandReceived(now: clock.now, isCommand: true).isRefusal)
        var fresh = Machine(configuration: Self.configuration)
        _ = fresh.connected(now: clock.now, implicitTLS: false) + fresh.admitted(now: clock.now)
        for _ in 0..<3 { _ = fresh.commandReceived(now: clock.now, isCommand: true) }
        #expect(fresh.inputExhausted(hasBufferedInput: false) == true)
        for _ in 0..<3 { #expect(!fresh.commandReceived(now: clock.now, isCommand: true).isRefusal) }
    }

    @Test func literalChunksDoNotCountAndTheBoundGrowsAfterLogin() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now)
        _ = machine.loggedIn(now: clock.now)
        for _ in 0..<5 { _ = machine.commandReceived(now: clock.now, isCommand: true) }
        for _ in 0..<100 { #expect(!machine.commandReceived(now: clock.now, isCommand: false).isRefusal) }
        #expect(machine.commandReceived(now: clock.now, isCommand: true).isRefusal)
    }

    @Test func inputWaitsWhileWorkIsInProgress() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now)
        machine.waitStarted()
        #expect(!machine.canHandleInput)
        #expect(machine.inputExhausted(hasBufferedInput: false) == false)
        machine.waitEnded()
        #expect(machine.canHandleInput)
        #expect(machine.inputExhausted(hasBufferedInput: false) == true)
    }

    @Test func aShutdownDuringACommandSaysGoodbyeAtOnceAndOnlyOnce() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        _ = machine.loggedIn(now: clock.now)
        machine.waitStarted()  // a mail command on the pool
        #expect(
            machine.goodbye("Server shutting down.", reason: "Server shutting down")
                == [.goodbye(text: "Server shutting down.", reason: "Server shutting down")])
        #expect(!machine.isWaiting)
        // The goodbye ends with the protocol's close: flush, close, and a guard against a peer that never reads.
        let close = machine.closeRequested(now: clock.now, reason: "Server shutting down")
        timers.apply(close)
        #expect(close == [.closeAfterFlush, .armTimer(.closeGuard, at: clock.now + .seconds(5))])
        #expect(machine.goodbye("Disconnected for inactivity.", reason: "Inactivity") == [])
        #expect(machine.closeRequested(now: clock.now, reason: "again") == [])
        #expect(machine.closeReason == "Server shutting down")
        #expect(!machine.acceptsBytes)
        #expect(machine.inputExhausted(hasBufferedInput: false) == false)
        clock.advance(.seconds(5))
        #expect(Self.fireDue(&machine, &timers, clock: clock) == [.closeNow])
    }

    @Test func noTimerActsAfterThePeerClosedOrAHandOff() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: true) + machine.admitted(now: clock.now))
        timers.apply(machine.handedOff())
        #expect(timers.armed.isEmpty)
        clock.advance(.seconds(3600))
        #expect(machine.timerFired(.inactivity, at: Instant(nanoseconds: 1_000) + .seconds(60), now: clock.now) == [])
        #expect(machine.goodbye("Server shutting down.", reason: "Server shutting down") == [])
        var closed = Machine(configuration: Self.configuration)
        timers.apply(closed.connected(now: clock.now, implicitTLS: false) + closed.admitted(now: clock.now))
        timers.apply(closed.peerClosed())
        #expect(timers.armed.isEmpty)
        #expect(closed.timerFired(.closeGuard, at: clock.now, now: clock.now) == [])
    }

    @Test func theFirstCloseReasonWins() {
        var machine = Machine(configuration: Self.configuration)
        machine.noteCloseReason("Connection closed: Connection reset by peer")
        _ = machine.closeNow(reason: "TLS handshake timed out")
        #expect(machine.closeReason == "Connection closed: Connection reset by peer")
    }

    @Test func aConnectionWithoutLoginUsesTheIdleTimeoutFromItsFirstCommand() {
        var clock = ManualClock()
        let unbounded = Machine.Configuration(
            loginTimeout: .seconds(60), idleTimeout: .seconds(30), tlsHandshakeTimeout: .seconds(10),
            maxPipelinedPreLogin: .max, maxPipelinedPostLogin: .max)
        var machine = Machine(configuration: unbounded, authenticated: true)
        var timers = Timers()
        timers.apply(machine.connected(now: clock.now, implicitTLS: false) + machine.admitted(now: clock.now))
        // The idle deadline (30 s) is sooner than the connection's first check (60 s): re-armed earlier.
        let decision = machine.commandReceived(now: clock.now, isCommand: true)
        #expect(decision == .handle(rearm: clock.now + .seconds(30)))
        if case .handle(let at?) = decision { timers.armed[.inactivity] = at }
        clock.advance(.seconds(30))
        #expect(Self.fireDue(&machine, &timers, clock: clock).map(\.isGoodbye) == [true])
    }

    // MARK: - Limits

    @Test func anAdmittedConnectionIsGreetedAndItsLoginDeadlineStarts() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        #expect(
            machine.admission(.admitted, now: clock.now) == [
                .armTimer(.inactivity, at: clock.now + .seconds(60)), .greet, .read,
            ])
        #expect(machine.logsDisconnect && machine.closeReason == nil)
    }

    @Test func aPlaintextClientOverALimitIsToldWhyAndNotGreeted() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        let reason = "Too many unauthenticated connections from the IP"
        #expect(
            machine.admission(.tooManyFromIP, now: clock.now) == [
                .goodbye(text: "Too many connections from your address.", reason: reason)
            ])
        #expect(machine.closeReason == reason)
        #expect(machine.logsDisconnect)
    }

    @Test func aRateRefusalLeavesNoLogLineAndImplicitTLSClosesBeforeTheHandshake() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: true)
        #expect(machine.admission(.tooFast, now: clock.now) == [.closeNow])
        #expect(machine.closeReason == "Connection rate limit exceeded")
        #expect(!machine.logsDisconnect)
        #expect(machine.isClosing)
    }

    @Test func aFullPreLoginQueueSaysGoodbyeEvenOverImplicitTLS() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: true)
        // The goodbye goes out after the handshake, which needs reads; no login deadline starts.
        #expect(
            machine.admission(.preLoginFull, now: clock.now) == [
                .goodbye(text: "Server is busy, try again later.", reason: "Too many unauthenticated connections"),
                .read,
            ])
        #expect(machine.closeReason == "Too many unauthenticated connections")
    }

    @Test func theSessionLimitNamesItsSizeAndLMTPHearsOfConnections() {
        let clock = ManualClock()
        var lmtp = Machine(configuration: Self.configuration, authenticated: true)
        _ = lmtp.connected(now: clock.now, implicitTLS: false)
        let reason = "client_limit × process_limit (7) reached"
        #expect(
            lmtp.admission(.sessionsFull(limit: 7), now: clock.now) == [
                .goodbye(text: "Too many connections, try again later.", reason: reason)
            ])
        var imap = Machine(configuration: Self.configuration)
        _ = imap.connected(now: clock.now, implicitTLS: false)
        #expect(
            imap.admission(.sessionsFull(limit: 7), now: clock.now) == [
                .goodbye(text: "Maximum number of sessions reached, try again later.", reason: reason)
            ])
    }

    @Test func aLoginOverTheUserIPLimitEndsTheConnection() {
        var clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        _ = machine.admission(.admitted, now: clock.now)
        clock.advance(.seconds(1))
        #expect(
            machine.loginLimitsChecked(.userIPFull(limit: 10), now: clock.now) == [
                .goodbye(
                    text: "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)",
                    reason: "Maximum number of connections from user+IP exceeded")
            ])
        #expect(!machine.isAuthenticated)
        #expect(machine.loginLimitsChecked(.sessionsFull(limit: 3), now: clock.now).map(\.isGoodbye) == [true])
        #expect(!machine.isAuthenticated)
        // Within the limits the session starts: the idle timeout and the post-login pipelining bound apply.
        #expect(machine.loginLimitsChecked(.admitted, now: clock.now) == [])
        #expect(machine.isAuthenticated && machine.pipelineLimit == 5)
    }

    @Test func afterUnauthenticateAFullQueueEndsTheConnectionAfterItsAnswer() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        _ = machine.admission(.admitted, now: clock.now)
        _ = machine.loginLimitsChecked(.admitted, now: clock.now)
        _ = machine.loggedOut(now: clock.now)
        #expect(machine.preLoginRechecked(.admitted) == [])
        #expect(
            machine.preLoginRechecked(.preLoginFull) == [
                .goodbyeAfterQueued(
                    text: "Server is busy, try again later.", reason: "Too many unauthenticated connections")
            ])
    }

    @Test func aHandedOffConnectionLeavesNoLogLineHere() {
        var machine = Machine(configuration: Self.configuration)
        _ = machine.handedOff()
        #expect(!machine.logsDisconnect)
    }

    // MARK: - Backpressure

    @Test func noInputIsHandledWhileTheOutputDoesNotDrain() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        _ = machine.admission(.admitted, now: clock.now)
        #expect(machine.writabilityChanged(isWritable: false) == [])
        #expect(!machine.canHandleInput)
        // Neither the buffered commands nor a read: the client's answers would pile up here.
        #expect(machine.inputExhausted(hasBufferedInput: true) == false)
        #expect(machine.inputExhausted(hasBufferedInput: false) == false)
        #expect(machine.writabilityChanged(isWritable: false) == [])
        #expect(machine.writabilityChanged(isWritable: true) == [.resumeInput])
        #expect(machine.canHandleInput)
        #expect(machine.writabilityChanged(isWritable: true) == [])
    }

    @Test func workInProgressResumesInputItselfAfterTheOutputDrained() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        _ = machine.admission(.admitted, now: clock.now)
        machine.waitStarted()
        #expect(machine.writabilityChanged(isWritable: false) == [])
        #expect(machine.writabilityChanged(isWritable: true) == [])
        machine.waitEnded()
        #expect(machine.canHandleInput)
        // Still blocked when the work ends: input waits for the output.
        _ = machine.writabilityChanged(isWritable: false)
        #expect(!machine.canHandleInput)
        _ = machine.closeRequested(now: clock.now, reason: "Logged out")
        #expect(machine.writabilityChanged(isWritable: true) == [])
    }

    @Test func aBurstGoesOnAcrossAStall() {
        let clock = ManualClock()
        var machine = Machine(configuration: Self.configuration)
        _ = machine.connected(now: clock.now, implicitTLS: false)
        _ = machine.admission(.admitted, now: clock.now)
        for _ in 0..<3 { _ = machine.commandReceived(now: clock.now, isCommand: true) }
        _ = machine.writabilityChanged(isWritable: false)
        // Not an end of the burst: nothing was read while blocked.
        #expect(machine.inputExhausted(hasBufferedInput: false) == false)
        _ = machine.writabilityChanged(isWritable: true)
        #expect(machine.commandReceived(now: clock.now, isCommand: true).isRefusal)
    }
}

extension ConnectionStateMachine.Action {
    var isGoodbye: Bool { if case .goodbye = self { true } else { false } }
}

extension ConnectionStateMachine.CommandDecision {
    var isRefusal: Bool { if case .refuse = self { true } else { false } }
}
