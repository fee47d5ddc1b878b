import AerieAuth
import AerieCore
import LMTPProtocol
import LMTPSession
import Testing

/// `lmtp_add_received_header`: the trace field Dovecot's LMTP prepends, after Return-Path and Delivered-To.
@Suite struct ReceivedHeaderTests {
    static let transaction =
        "LHLO mta.example.org\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
        + "RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"

    @Test func tcpClientIsNamedWithItsAddressAndEachCopyWithItsRecipient() throws {
        let harness = Harness(remoteIP: "192.0.2.7")
        harness.feed(Self.transaction)
        let (_, alice) = try harness.inbox("alice@example.org")
        #expect(
            alice == [
                "Return-Path: <s@example.net>\nDelivered-To: alice@example.org\n"
                    + "Received: from mta.example.org ([192.0.2.7])\n\tby mx.example.org with LMTP\n\tid S1d\n"
                    + "\t(envelope-from <s@example.net>)\n\tfor <alice@example.org>; \(Harness.date)\n"
                    + "Subject: hi\n\nbody\n"
            ])
        let (_, bob) = try harness.inbox("bob@example.org")
        #expect(bob.count == 1 && bob[0].contains("\tfor <bob@example.org>; ") && !bob[0].contains("alice"))
    }

    @Test func unixSocketClientHasNoAddressAndTLSSaysLMTPS() throws {
        let harness = Harness(remoteIP: "local", isTLS: true)
        harness.feed(Self.transaction)
        let text = try #require(try harness.inbox("alice@example.org").1.first)
        #expect(text.contains("\nReceived: from mta.example.org\n\tby mx.example.org with LMTPS\n"))
    }

    @Test func nullSenderAndSwitchedOff() throws {
        let harness = Harness()
        harness.feed("LHLO m\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n")
        #expect(try harness.inbox("alice@example.org").1.first?.contains("\t(envelope-from <>)\n") == true)

        let off = Harness(settings: LMTPSessionSettings(hostname: "mx", addReceivedHeader: false))
        off.feed(Self.transaction)
        #expect(off.deliveries.first?.trace == nil)
        #expect(
            try off.inbox("alice@example.org").1 == [
                "Return-Path: <s@example.net>\nDelivered-To: alice@example.org\nSubject: hi\n\nbody\n"
            ])
    }

    @Test func partsCannotBreakTheHeader() {
        let trace = LMTPTrace(heloName: "a\r\nX-Evil: 1", remoteIP: nil, hostname: "mx", isTLS: false, id: "i")
        let header = trace.header(sender: "s\n@x", recipient: "r@x", date: "D")
        #expect(
            header == "Received: from aX-Evil: 1\n\tby mx with LMTP\n\tid i\n\t(envelope-from <s@x>)\n\tfor <r@x>; D\n")
    }

    @Test func rfc5322Dates() {
        #expect(RFC5322Date.format(secondsSince1970: 0, zoneOffset: 0) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(
            RFC5322Date.format(secondsSince1970: 1_736_240_703, zoneOffset: 3600) == "Tue, 07 Jan 2025 10:05:03 +0100")
        #expect(
            RFC5322Date.format(secondsSince1970: 951_782_400, zoneOffset: -18000) == "Mon, 28 Feb 2000 19:00:00 -0500")
        #expect(
            RFC5322Date.format(secondsSince1970: 4_102_444_799, zoneOffset: 19800) == "Fri, 01 Jan 2100 05:29:59 +0530")
        #expect(RFC5322Date.now().count == "Thu, 01 Jan 1970 00:00:00 +0000".count)
    }
}
