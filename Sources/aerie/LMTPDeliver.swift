import AerieServer
import AerieStorage
import ArgumentParser

/// Internal: `aerie lmtp-deliver`, started by the master (root) for LMTP recipients of another uid/gid; it becomes
/// that uid/gid before it reads anything (`LMTPDeliveryWorker`). Not for people.
struct LMTPDeliverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lmtp-deliver", shouldDisplay: false)

    @Option(name: .short) var config: String?
    /// The master's configuration (`ConfigSnapshotFile`), loaded instead of the file.
    @Option(name: .customLong("config-snapshot")) var snapshot: String?
    @Option var uid: UInt32
    @Option var gid: UInt32
    /// The directory it chroots to before becoming uid/gid (`MailRoutePolicy.placement`, as `mail-service --chroot`).
    @Option var chroot: String?
    /// Test hook: wait while this file exists before writing (`AERIE_TEST_LMTP_DELIVER_HOLD`).
    @Option var testHold: String?

    func run() throws {
        // no_new_privs is per thread and inherited: set it before any thread exists.
        try Privileges.forbidNewPrivileges()
        let loaded = try loadServiceConfig(config, snapshot: snapshot)
        let log = try openServiceLog(config, loaded: loaded)
        StorageLog.install(log)
        let status = LMTPDeliveryWorker.run(
            settings: loaded.settings, log: log, uid: uid, gid: gid, chroot: chroot, testHold: testHold)
        if status != 0 { throw ExitCode(status) }
    }
}
