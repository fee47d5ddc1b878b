import AerieAuth
import AerieConfig
import Testing

@testable import AerieServer

/// What a SIGHUP of the master cannot take is named in its log (issue 11: a setting Aerie accepts, it enforces).
@Suite struct MasterReloadTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: "protocols = imap\nlisten = 127.0.0.1\n" + text, path: "/nonexistent/a.conf")
            .settings
    }

    @Test func namesWhatTheMasterUsedOnceAtStart() throws {
        let running = try settings("mail_uid = vmail\nfirst_valid_uid = 500\n")
        #expect(MasterReload.restartRequired(running: running, new: running).isEmpty)
        #expect(MasterReload.warning([]) == nil)
        // Taken by the reload: not named.
        let ranges = try settings("mail_uid = vmail\nfirst_valid_uid = 1502\nlast_valid_uid = 2000\n")
        #expect(MasterReload.restartRequired(running: running, new: ranges).isEmpty)
        let moved = try settings(
            "mail_uid = nobody\nfirst_valid_uid = 500\nbase_dir = /run/other\n"
                + "service imap-login {\n  inet_listener imaps {\n    port = 10993\n  }\n}\n")
        let changed = MasterReload.restartRequired(running: running, new: moved)
        #expect(changed == ["base_dir", "mail_uid", "listeners"])
        #expect(
            MasterReload.warning(changed)
                == "Reload: base_dir, mail_uid, listeners changed, restart required (aerie serve keeps the values it "
                + "started with)")
    }

    @Test func routePolicyOfTheNewRangesRefuses() throws {
        let account = ServiceAccount(name: "vmail", uid: 999, gid: 999)
        let user = AuthenticatedUser(user: "carol", uid: 1501, gid: 1501, home: "/home/carol")
        let before = MailRoutePolicy(settings: try settings(""), mainAccount: account)
        #expect(before.route(user, chroot: "") == .dedicated(MailProcessKey(uid: 1501, gid: 1501)))
        let after = MailRoutePolicy(settings: try settings("first_valid_uid = 1502\n"), mainAccount: account)
        #expect(after.route(user, chroot: "") == .refuse("uid 1501 is outside first_valid_uid/last_valid_uid"))
    }
}
