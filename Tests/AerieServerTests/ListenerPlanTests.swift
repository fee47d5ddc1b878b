import AerieConfig
import AerieObservability
import SASL
import Testing

@testable import AerieServer

@Suite struct ListenerPlanTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
    }

    @Test func defaultsOpenOnlyImplicitTLS() throws {
        let plans = try ListenerPlan.plan(settings: settings("protocols = imap\nlisten = 127.0.0.1\n"), log: CapturingLogSink())
        #expect(plans == [ListenerPlan(kind: .imap, name: "imaps", host: "127.0.0.1", port: 993, implicitTLS: true)])
    }

    @Test func plaintextListenerWithoutPortIsNotOpenedAndSaysSo() throws {
        let log = CapturingLogSink()
        let plans = try ListenerPlan.plan(
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
        let plans = try ListenerPlan.plan(
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
        #expect(ListenerPlan.hosts(for: "*, ::") == ["0.0.0.0", "::"])
    }
}

@Suite struct LMTPListenerTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
    }

    @Test func lmtpListensOnAUnixSocketInBaseDirByDefault() throws {
        let plans = try ListenerPlan.plan(
            settings: settings("protocols = lmtp\nbase_dir = /run/aerie\n"), log: CapturingLogSink())
        #expect(plans.count == 1)
        #expect(plans[0].unixSocket == ListenerPlan.UnixSocket(path: "/run/aerie/lmtp", mode: 0o600, user: "", group: ""))
    }

    @Test func lmtpOverTCPToTheWorldIsRefused() throws {
        let config = try settings(
            """
            protocols = lmtp
            service lmtp {
              inet_listener lmtp {
                address = 0.0.0.0
                port = 24
              }
            }
            """)
        #expect(throws: ServerStartError.self) { try ListenerPlan.plan(settings: config, log: CapturingLogSink()) }
    }

    @Test func lmtpOverLoopbackTCPIsAllowed() throws {
        let config = try settings(
            """
            protocols = lmtp
            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = 2424
              }
            }
            """)
        let plans = try ListenerPlan.plan(settings: config, log: CapturingLogSink())
        #expect(plans.contains { $0.host == "127.0.0.1" && $0.port == 2424 && $0.kind == .lmtp })
    }

    /// login_trusted_networks is a CIDR list: an LMTP address inside one of its networks is allowed, not only an
    /// exact string.
    @Test func lmtpOnATrustedNetworkAddressIsAllowed() throws {
        let text = """
            protocols = lmtp
            login_trusted_networks = 10.0.0.0/8
            service lmtp {
              inet_listener lmtp {
                address = ADDR
                port = 2424
              }
            }
            """
        let inside = try settings(text.replacingOccurrences(of: "ADDR", with: "10.1.2.3"))
        #expect(try ListenerPlan.plan(settings: inside, log: CapturingLogSink()).contains { $0.host == "10.1.2.3" })
        let outside = try settings(text.replacingOccurrences(of: "ADDR", with: "11.1.2.3"))
        #expect(throws: ServerStartError.self) { try ListenerPlan.plan(settings: outside, log: CapturingLogSink()) }
    }

    @Test func haproxyListenersNeedTrustedProxiesAndValidNetworks() throws {
        let text = """
            protocols = imap
            listen = 127.0.0.1
            EXTRA
            service imap-login {
              inet_listener imap {
                port = 10143
                haproxy = yes
              }
            }
            """
        let good = try settings(text.replacingOccurrences(of: "EXTRA", with: "haproxy_trusted_networks = 10.0.0.5"))
        let plans = try ListenerPlan.plan(settings: good, log: CapturingLogSink())
        #expect(plans.map(\.haproxy) == [true])
        #expect(plans[0].description == "127.0.0.1:10143 (STARTTLS) (PROXY protocol)")
        for (extra, message) in [
            ("", "haproxy_trusted_networks is empty"),
            ("haproxy_trusted_networks = 10.0.0.5/33", "haproxy_trusted_networks: invalid network 10.0.0.5/33"),
            ("haproxy_trusted_networks = 10.0.0.5\nlogin_trusted_networks = lan",
             "login_trusted_networks: invalid network lan"),
        ] {
            let config = try settings(text.replacingOccurrences(of: "EXTRA", with: extra))
            #expect {
                try ListenerPlan.plan(settings: config, log: CapturingLogSink())
            } throws: { error in
                (error as? ServerStartError)?.description.contains(message) == true
            }
        }
    }
}

/// Issue 15: the configuration's table of mechanisms says enforced for exactly the mechanisms the SASL module has.
@Test func supportTableMatchesTheSASLMechanisms() {
    let enforced = Support.authMechanisms.filter { $0.value == .enforced }.keys.sorted()
    #expect(enforced == SASLMechanism.allCases.map { $0.rawValue.lowercased() }.sorted())
}
