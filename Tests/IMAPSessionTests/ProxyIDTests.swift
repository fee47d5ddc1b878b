import AerieAuth
import AerieCore
import IMAPProtocol
import IMAPSession
import Testing

/// Dovecot's rule for the ID fields its login proxies send: believed only from `login_trusted_networks`.
@Suite struct ProxyIDTests {
    func session(trusted: Bool, proxiedTLS: Bool = false) -> Transcript {
        var transcript = Transcript(tls: true)
        transcript.session = IMAPSession(
            settings: transcript.session.settings,
            context: ConnectionContext(
                remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: !proxiedTLS,
                startTLSAvailable: false, proxiedTLS: proxiedTLS, trusted: trusted))
        return transcript
    }

    static let forwarded = #"a ID ("name" "proxy" "x-originating-ip" "203.0.113.9" "x-originating-port" "50123" "#
        + #""x-connected-ip" "198.51.100.1" "x-connected-port" "993")"#

    @Test func trustedClientSetsTheAddressesUsedForLoginAndLogs() {
        var transcript = session(trusted: true)
        #expect(lines(transcript.send(Self.forwarded)) == ["* ID (\"name\" \"Aerie\")", "a OK ID completed."])
        #expect(transcript.session.context.remoteIP == "203.0.113.9")
        #expect(transcript.session.context.remotePort == 50123)
        #expect(transcript.session.context.localIP == "198.51.100.1")
        #expect(transcript.session.context.localPort == 993)
        let request = authRequest(transcript.send("b LOGIN demo secret"))
        #expect(request?.remoteIP == "203.0.113.9")
        #expect(request?.localIP == "198.51.100.1")
    }

    @Test func untrustedClientIsIgnored() {
        var transcript = session(trusted: false)
        #expect(lines(transcript.send(Self.forwarded)) == ["* ID (\"name\" \"Aerie\")", "a OK ID completed."])
        #expect(transcript.session.context.remoteIP == "192.0.2.7")
        #expect(transcript.session.context.localIP == "192.0.2.1")
        #expect(authRequest(transcript.send("b LOGIN demo secret"))?.remoteIP == "192.0.2.7")
    }

    @Test func onlyTheFirstIDCounts() {
        var transcript = session(trusted: true)
        _ = transcript.send(#"a ID ("x-originating-ip" "203.0.113.9")"#)
        _ = transcript.send(#"b ID ("x-originating-ip" "203.0.113.10")"#)
        #expect(transcript.session.context.remoteIP == "203.0.113.9")
    }

    @Test func keysAreCaseInsensitiveAndIPv6IsCanonical() {
        var transcript = session(trusted: true)
        _ = transcript.send(#"a ID ("X-Originating-IP" "2001:DB8:0::7")"#)
        #expect(transcript.session.context.remoteIP == "2001:db8::7")
    }

    @Test func invalidValueFromTrustedClientIsBAD() {
        var transcript = session(trusted: true)
        #expect(lines(transcript.send(#"a ID ("x-originating-ip" "not-an-ip")"#)) == ["a BAD Invalid ID parameters"])
        #expect(transcript.session.context.remoteIP == "192.0.2.7")
        var ports = session(trusted: true)
        #expect(lines(ports.send(#"a ID ("x-originating-port" "65536")"#)) == ["a BAD Invalid ID parameters"])
        // From an untrusted client the same fields are ignored, whatever they hold.
        var untrusted = session(trusted: false)
        #expect(lines(untrusted.send(#"a ID ("x-originating-ip" "not-an-ip")"#)).last == "a OK ID completed.")
    }

    @Test func proxiedTLSCountsAsSecured() {
        var transcript = session(trusted: false, proxiedTLS: true)
        let greeting = lines(transcript.session.greeting())[0]
        #expect(greeting.contains("AUTH=PLAIN"))
        #expect(!greeting.contains("LOGINDISABLED") && !greeting.contains("STARTTLS"))
        #expect(authRequest(transcript.send("b LOGIN demo secret"))?.secured == true)
    }
}
