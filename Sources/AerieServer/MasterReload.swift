public import AerieConfig
import AerieCore

/// What a SIGHUP of the master (`aerie serve`) cannot take (issue 11, as Dovecot's "... changed, restart
/// required"): the settings it used once at start — where its children's sockets and its log are, the `mail`
/// child's account, the process model, the listening sockets it bound. The uid/gid ranges, mail_chroot and the
/// child limits it does take (`MailRouter.update`, `LMTPUIDDeliveryMaster.update`, `Supervisor.update`).
public enum MasterReload {
    /// The settings of `new` that differ from those the master started with (`running`), by name.
    public static func restartRequired(running: AerieSettings, new: AerieSettings) -> [String] {
        let compared: [(String, (AerieSettings) -> String)] = [
            ("base_dir", \.baseDir), ("log_path", \.logPath), ("syslog_facility", \.syslogFacility),
            ("log_timestamp", \.logTimestamp), ("auth_debug", { "\($0.authDebug)" }),
            ("mail_debug", { "\($0.mailDebug)" }), ("mail_uid", \.mailUID), ("mail_gid", \.mailGID),
            ("login_process", { "\($0.loginProcess)" }),
        ]
        var changed = compared.filter { $0.1(running) != $0.1(new) }.map(\.0)
        let listeners = [running, new].map { try? ListenerPlan.plan(settings: $0, log: DiscardingLogSink()) }
        if listeners[1] != nil && listeners[0] != listeners[1] { changed.append("listeners") }
        return changed
    }

    /// The warning for `changed` (nil: nothing).
    public static func warning(_ changed: [String]) -> String? {
        changed.isEmpty
            ? nil
            : "Reload: \(changed.joined(separator: ", ")) changed, restart required (aerie serve keeps the values "
                + "it started with)"
    }
}
