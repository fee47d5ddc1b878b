import AerieAuth
@testable import AerieConfig
import Testing

@testable import AerieServer

/// Issue 11: where the master sends a handed-over login, from the auth process's answer.
@Suite struct MailRouterTests {
    static let vmail = ServiceAccount(name: "vmail", uid: 1500, gid: 1500)

    func policy(mailChroot: String = "", root: Bool = true) -> MailRoutePolicy {
        var settings = AerieSettings()
        settings.firstValidUID = 1000
        settings.lastValidUID = 60000
        settings.firstValidGID = 100
        var policy = MailRoutePolicy(settings: settings, mainAccount: root ? Self.vmail : nil)
        policy.mailChroot = mailChroot
        return policy
    }

    func user(_ uid: UInt32, _ gid: UInt32, home: String = "/home/u", fields: [String: String] = [:])
        -> AuthenticatedUser
    {
        AuthenticatedUser(user: "u", uid: uid, gid: gid, home: home, extraFields: fields)
    }

    @Test func theMailUsersGoToTheMailChildOthersToTheirKey() {
        let policy = policy()
        #expect(policy.route(user(1500, 1500), chroot: "") == .main)
        #expect(policy.route(user(1501, 1501), chroot: "") == .dedicated(MailProcessKey(uid: 1501, gid: 1501)))
        #expect(policy.route(user(1500, 1501), chroot: "") == .dedicated(MailProcessKey(uid: 1500, gid: 1501)))
        #expect(
            policy.route(user(1500, 1500), chroot: "/var/jail")
                == .dedicated(MailProcessKey(uid: 1500, gid: 1500, chroot: "/var/jail")))
    }

    @Test func rootAndUidsOrGidsOutOfRangeAreRefused() {
        let policy = policy()
        for (uid, gid) in [(0, 1500), (999, 1500), (60001, 1500), (1501, 0), (1501, 99)] as [(UInt32, UInt32)] {
            guard case .refuse = policy.route(user(uid, gid), chroot: "") else {
                Issue.record("uid \(uid) gid \(gid) was not refused")
                continue
            }
        }
    }

    @Test func notRootEverythingStaysInTheOneMailService() {
        #expect(policy(root: false).route(user(1501, 1501), chroot: "") == .main)
        #expect(policy(root: false).route(user(0, 0), chroot: "") == .main)
    }

    /// Dovecot: `/./` in the home splits chroot and home; else the userdb `chroot` field or mail_chroot, with the
    /// home made relative to it when it lies under it.
    @Test func chrootAndHomeAsDovecotSplitsThem() {
        let policy = policy()
        #expect(policy.placement(of: user(1501, 1501, home: "/var/chroot/./home/u")) == ("/var/chroot", "/home/u"))
        #expect(policy.placement(of: user(1501, 1501, home: "/home/u")) == ("", "/home/u"))
        let field = user(1501, 1501, home: "/srv/j/u", fields: ["chroot": "/srv/j/"])
        #expect(policy.placement(of: field) == ("/srv/j", "/u"))
        let configured = self.policy(mailChroot: "/srv/mail")
        #expect(configured.placement(of: user(1501, 1501, home: "/srv/mail/u")) == ("/srv/mail", "/u"))
        #expect(configured.placement(of: user(1501, 1501, home: "/u")) == ("/srv/mail", "/u"))
        #expect(configured.placement(of: user(1501, 1501, home: "/srv/mail")) == ("/srv/mail", "/"))
    }
}
