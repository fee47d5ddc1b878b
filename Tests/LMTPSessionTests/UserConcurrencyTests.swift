import AerieAuth
import AerieCore
import AerieStorage
import LMTPProtocol
import LMTPSession
import Testing

/// `lmtp_user_concurrency_limit`: deliveries in flight per user, over every connection.
@Suite struct UserConcurrencyTests {
    @Test func slotsAreCountedPerUserAndGivenBackWhenDropped() {
        let limiter = LMTPUserConcurrency(limit: 2)
        var first = limiter.acquire("alice")
        var second = limiter.acquire("alice")
        #expect(first != nil && second != nil)
        #expect(limiter.acquire("alice") == nil)
        #expect(limiter.acquire("bob") != nil)  // taken and dropped at once
        #expect(limiter.inFlight("alice") == 2 && limiter.inFlight("bob") == 0)
        first = nil
        #expect(limiter.inFlight("alice") == 1)
        first = limiter.acquire("alice")
        #expect(first != nil && limiter.inFlight("alice") == 2)
        first = nil
        second = nil
        #expect(limiter.inFlight("alice") == 0)
    }

    @Test func zeroIsUnlimitedAndTheLimitCanChangeWithSlotsOut() {
        let limiter = LMTPUserConcurrency(limit: 0)
        let slots = (0..<100).compactMap { _ in limiter.acquire("alice") }
        withExtendedLifetime(slots) {
            #expect(slots.count == 100)
            limiter.limit = 100
            #expect(limiter.acquire("alice") == nil)
            limiter.limit = 101
            #expect(limiter.acquire("alice") != nil)
        }
    }

    @Test func secondConnectionGets451ForTheBusyUserOnly() {
        let limiter = LMTPUserConcurrency(limit: 1)
        let first = Harness(concurrency: limiter)
        let second = Harness(concurrency: limiter)
        #expect(first.feed("LHLO a\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\n").last == "250 2.1.5 OK")
        let out = second.feed(
            "LHLO b\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+x@example.org>\r\nRCPT TO:<bob@example.org>\r\n")
        #expect(
            out.suffix(2) == [
                "451 4.3.0 <alice+x@example.org> Too many concurrent deliveries for user", "250 2.1.5 OK",
            ])
        // The first connection's delivery ends its transaction and frees alice's slot.
        #expect(first.feed("DATA\r\nhi\r\n.\r\n").last == "250 2.0.0 <alice@example.org> Saved")
        #expect(limiter.inFlight("alice@example.org") == 0)
        #expect(second.feed("RCPT TO:<alice@example.org>\r\n") == ["250 2.1.5 OK"])
        #expect(limiter.inFlight("alice@example.org") == 1 && limiter.inFlight("bob@example.org") == 1)
    }

    @Test func everyWayATransactionEndsGivesTheSlotsBack() {
        let limiter = LMTPUserConcurrency(limit: 5)
        let harness = Harness(settings: LMTPSessionSettings(hostname: "mx", maxMessageSize: 10), concurrency: limiter)
        let open = "MAIL FROM:<s@x>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<alice@example.org>\r\n"
        harness.feed("LHLO a\r\n" + open)
        #expect(limiter.inFlight("alice@example.org") == 2)
        harness.feed("RSET\r\n")
        #expect(limiter.inFlight("alice@example.org") == 0)
        harness.feed(open + "DATA\r\n" + String(repeating: "x", count: 20) + "\r\n.\r\n")  // refused: too big
        #expect(limiter.inFlight("alice@example.org") == 0)
        harness.feed(open + "LHLO again\r\n")
        #expect(limiter.inFlight("alice@example.org") == 0)
        harness.storeOverride = { _ in throw StorageError.quotaExceeded }
        harness.feed(open + "DATA\r\nx\r\n.\r\n")  // failed delivery
        #expect(limiter.inFlight("alice@example.org") == 0)
        harness.feed(open)
        #expect(limiter.inFlight("alice@example.org") == 2)
        harness.session.connectionClosed()
        #expect(limiter.inFlight("alice@example.org") == 0)
    }

    @Test func aDeliveryOnThePoolKeepsItsSlotsUntilItIsDone() {
        let limiter = LMTPUserConcurrency(limit: 1)
        var session = LMTPSession(
            settings: LMTPSessionSettings(hostname: "mx"),
            context: ConnectionContext(
                remoteIP: "", localIP: "", sessionID: "s", isTLS: false, startTLSAvailable: false),
            concurrency: limiter)
        _ = session.receive(Array("LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<a@x>\r\n".utf8))
        _ = session.recipientLookedUp(AuthenticatedUser(user: "a", uid: 1500, gid: 1500, home: "/nonexistent"))
        var delivery: LMTPDelivery?
        for action in session.receive(Array("DATA\r\nhi\r\n.\r\n".utf8)) {
            if case .deliver(let started) = action { delivery = started }
        }
        #expect(delivery != nil)
        session.connectionClosed()  // the client went away while the copies are written
        #expect(limiter.inFlight("a") == 1)
        delivery = nil
        #expect(limiter.inFlight("a") == 0)
    }
}
