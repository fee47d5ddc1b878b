import Testing

@testable import AerieCore

@Suite struct LazyDeadlineTests {
    @Test func aRenewedDeadlineIsCheckedAgainInsteadOfRescheduledEachTime() {
        var deadline = LazyDeadline()
        var armed = deadline.renew(now: 0, duration: 100)
        #expect(armed && deadline.armedFor == 100)
        // Commands at 30 and 60: no new timer, the deadline moves on.
        armed = deadline.renew(now: 30, duration: 100)
        #expect(!armed)
        armed = deadline.renew(now: 60, duration: 100)
        #expect(!armed)
        // The check fires at 100: not inactive yet, check again at 160.
        var check = deadline.fired(now: 100, armedFor: 100)
        #expect(check == .recheck && deadline.armedFor == 160)
        // Nothing more: at 160 the connection has been idle for the whole duration.
        check = deadline.fired(now: 160, armedFor: 160)
        #expect(check == .expired && deadline.armedFor == nil)
    }

    @Test func aSoonerDeadlineReplacesTheScheduledCheck() {
        var deadline = LazyDeadline()
        // Logged in: 30 minutes; logged out again: the 60 s login timeout must not wait for the old check.
        var armed = deadline.renew(now: 0, duration: 1800)
        #expect(armed)
        armed = deadline.renew(now: 10, duration: 60)
        #expect(armed && deadline.armedFor == 70)
        var check = deadline.fired(now: 1800, armedFor: 1800)
        #expect(check == .stale)
        check = deadline.fired(now: 70, armedFor: 70)
        #expect(check == .expired)
    }

    @Test func aCheckFiringEarlyNeverExpires() {
        var deadline = LazyDeadline()
        _ = deadline.renew(now: 0, duration: 100)
        // A timer that fires a little early (or a clock read before the deadline) checks again.
        var check = deadline.fired(now: 99, armedFor: 100)
        #expect(check == .recheck && deadline.armedFor == 100)
        deadline.cancel()
        check = deadline.fired(now: 100, armedFor: 100)
        #expect(check == .stale)
    }
}
