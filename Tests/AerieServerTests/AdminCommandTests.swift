import AerieCore
import Synchronization
import Testing

@testable import AerieServer

@Suite struct AdminCommandTests {
    @Test func loginsCommands() {
        #expect(
            AdminCommand(["logins", "disable", "all"]) == .loginsDisable(service: nil, reason: LoginSwitch.defaultReason))
        #expect(
            AdminCommand(["logins", "disable", "imap", "Back at 10"])
                == .loginsDisable(service: "imap", reason: "Back at 10"))
        #expect(AdminCommand(["logins", "enable", "pop3"]) == .loginsEnable(service: "pop3"))
        #expect(AdminCommand(["logins", "enable"]) == .loginsEnable(service: nil))
        #expect(AdminCommand(["logins", "status"]) == .loginsStatus)
    }

    @Test func loginsRefusesUnknownServicesAndUnsafeReasons() {
        #expect(AdminCommand(["logins", "disable", "lmtp"]) == nil, "LMTP deliveries are never switched off")
        #expect(AdminCommand(["logins", "disable", "all", "two\r\nlines"]) == nil)
        #expect(AdminCommand(["logins", "disable", "all", ""]) == nil)
        #expect(AdminCommand(["logins", "disable", "all", String(repeating: "x", count: 201)]) == nil)
        #expect(AdminCommand(["logins", "status", "imap"]) == nil)
        #expect(AdminCommand(["logins"]) == nil)
    }

    @Test func kickAndWho() {
        #expect(AdminCommand(["kick", "all"]) == .kick(.all))
        #expect(AdminCommand(["kick", "user", "alice"]) == .kick(.user("alice")))
        #expect(AdminCommand(["kick", "ip", "192.0.2.0/24"]) == .kick(.network(CIDR("192.0.2.0/24")!)))
        #expect(AdminCommand(["kick", "ip", "nonsense"]) == nil)
        #expect(AdminCommand(["kick", "user", "a b"]) == nil)
        #expect(AdminCommand(["kick"]) == nil)
        #expect(AdminCommand(["who"]) == .who(all: false))
        #expect(AdminCommand(["who", "all"]) == .who(all: true))
        #expect(AdminCommand(["who", "everyone"]) == nil)
        #expect(AdminCommand(["penalty", "list"]) == nil, "the auth process answers those")
    }

    @Test func logDescriptionQuotesTheReasonAndCleansNames() {
        #expect(AdminCommand(["logins", "disable", "all", "Back soon"])?.logDescription
            == "logins disable all reason=\"Back soon\"")
        #expect(AdminCommand.kick(.user("a<b>")).logDescription == "kick user a?b?")
    }

    @Test func loginSwitchPerService() {
        let logins = LoginSwitch()
        #expect(logins.refusal(for: "imap") == nil)
        logins.disable(nil, reason: "r")
        #expect(logins.refusal(for: "imap") == "r" && logins.refusal(for: "pop3") == "r")
        #expect(logins.refusal(for: "lmtp") == nil)
        logins.enable("pop3")
        #expect(logins.refusal(for: "pop3") == nil && logins.refusal(for: "imap") == "r")
        #expect(logins.status == ["imap: disabled (r)", "pop3: enabled"])
        logins.enable(nil)
        #expect(logins.refusal(for: "imap") == nil)
    }

    @Test func kickTargetsNeverMatchLMTPAndIPMatchesMappedAddresses() {
        let imap = SessionInfo(service: "imap", remoteIP: "::ffff:192.0.2.9", since: 0)
        let lmtp = SessionInfo(service: "lmtp", remoteIP: "192.0.2.9", since: 0)
        imap.user = "alice"
        lmtp.user = "alice"
        let network = KickTarget.network(CIDR("192.0.2.0/24")!)
        #expect(network.matches(imap) && !network.matches(lmtp))
        #expect(KickTarget.user("alice").matches(imap) && !KickTarget.user("bob").matches(imap))
        #expect(KickTarget.all.matches(imap) && !KickTarget.all.matches(lmtp))
        #expect(!network.matches(SessionInfo(service: "imap", remoteIP: "local", since: 0)))
    }

    @Test func registryKicksMatchingOpenConnectionsOnce() {
        let registry = ConnectionRegistry()
        let said = Counter()
        let a = SessionInfo(service: "imap", remoteIP: "192.0.2.1", since: 0)
        let b = SessionInfo(service: "pop3", remoteIP: "198.51.100.1", since: 0)
        _ = registry.register(a) { text, reason in
            #expect(text == AdminExecutor.kickText && reason == AdminExecutor.kickReason)
            said.add()
            a.isClosing = true
        }
        _ = registry.register(b) { _, _ in said.add() }
        let executor = AdminExecutor(registry: registry, logins: LoginSwitch())
        #expect(executor.run(.kick(.network(CIDR("192.0.2.0/24")!))) == (true, "kicked 1 connection"))
        #expect(executor.run(.kick(.network(CIDR("192.0.2.0/24")!))) == (true, "kicked 0 connections"))
        #expect(said.value == 1)
        #expect(registry.sessions.count == 1, "a closing connection is not listed")
    }

    @Test func whoTable() {
        let info = SessionInfo(service: "imap", remoteIP: "192.0.2.1", since: 1_796_601_600)
        info.user = "alice"
        info.bytesIn = 10
        info.bytesOut = 20
        #expect(
            AdminExecutor.whoTable([info])
                == "username\tproto\tip\tsince\tin\tout\nalice\timap\t192.0.2.1\t2026-12-07T00:00:00Z\t10\t20")
        #expect(AdminExecutor.whoTable([info, info], limit: 1).hasSuffix("\n… and 1 more"))
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// Commands `aerie adm --host` sends that the auth process answers: logged by command and user, never a password.
@Suite struct AdminForwardedCommandTests {
    @Test func authProcessCommandsAreRecognisedAndLoggedWithoutSecrets() {
        #expect(AdminCommand.isAuthProcessCommand(["-p", "imap", "auth", "test", "alice", "pw"]))
        #expect(AdminCommand.isAuthProcessCommand(["penalty", "list"]))
        #expect(!AdminCommand.isAuthProcessCommand(["who"]) && !AdminCommand.isAuthProcessCommand([]))
        let line = AdminCommand.authLogDescription(["-p", "imap", "auth", "test", "alice", "S3cret-pw"])
        #expect(line == "auth test alice")
        #expect(AdminCommand.authLogDescription(["user", "bob"]) == "user bob")
        #expect(AdminCommand.authLogDescription(["ban", "192.0.2.9", "600"]) == "ban 192.0.2.9")
        #expect(AdminCommand.authLogDescription(["penalty", "list"]) == "penalty list")
    }
}
