import AerieConfig
import AerieObservability
import Testing

@testable import AerieServer

@Suite struct ListenerPlanTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
    }

    @Test func defaultsOpenOnlyImplicitTLS() throws {
        let plans = try AerieServer.plan(settings: settings("listen = 127.0.0.1\n"), log: CapturingLogSink())
        #expect(plans == [ListenerPlan(service: "imap-login", name: "imaps", host: "127.0.0.1", port: 993, implicitTLS: true)])
    }

    @Test func plaintextListenerWithoutPortIsNotOpenedAndSaysSo() throws {
        let log = CapturingLogSink()
        let plans = try AerieServer.plan(
            settings: settings(
                """
                protocols = imap
                listen = 127.0.0.1
                service imap-login {
                  inet_listener imap {
                  }
                  inet_listener imaps {
                    port = 11993
                    ssl = yes
                  }
                }
                """), log: log)
        #expect(plans.map(\.port) == [11993])
        #expect(log.captured.contains { $0.contains("inet_listener imap has no port, so it is not opened") })
    }

    @Test func portZeroDisablesAListenerSilently() throws {
        let log = CapturingLogSink()
        let plans = try AerieServer.plan(
            settings: settings(
                """
                protocols = imap
                listen = 127.0.0.1
                service imap-login {
                  inet_listener imap {
                    port = 0
                  }
                  inet_listener imaps {
                    port = 11993
                    ssl = yes
                  }
                }
                """), log: log)
        #expect(plans.map(\.port) == [11993])
        #expect(log.captured.isEmpty)
    }

    @Test func wildcardListenResolvesToBothFamilies() {
        #expect(AerieServer.hosts(for: "*, ::") == ["0.0.0.0", "::"])
    }
}
