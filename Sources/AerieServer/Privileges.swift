import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The account mail access runs as, resolved from `mail_uid`/`mail_gid` or `default_internal_user`.
public struct ServiceAccount: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32

    /// Looks the account up in the system's user database.
    public static func lookup(user: String, group: String) throws -> ServiceAccount {
        // Dovecot accepts a name or a number for mail_uid / mail_gid.
        if let uid = UInt32(user) {
            let gid = UInt32(group) ?? getpwuid(uid)?.pointee.pw_gid ?? uid
            let name = getpwuid(uid).flatMap { String(validatingCString: $0.pointee.pw_name) } ?? user
            return ServiceAccount(name: name, uid: uid, gid: group.isEmpty || UInt32(group) != nil ? gid : try groupID(group))
        }
        guard let entry = getpwnam(user) else {
            throw ServerStartError(
                "mail_uid/default_internal_user: system user \(user) does not exist (create it, e.g. useradd --system --user-group vmail)"
            )
        }
        let gid = group.isEmpty ? entry.pointee.pw_gid : try groupID(group)
        return ServiceAccount(name: user, uid: entry.pointee.pw_uid, gid: gid)
    }

    static func groupID(_ group: String) throws -> UInt32 {
        if let gid = UInt32(group) { return gid }
        guard let entry = getgrnam(group) else { throw ServerStartError("mail_gid: system group \(group) does not exist") }
        return entry.pointee.gr_gid
    }
}

/// Dropping root after binding ports, as Dovecot's master does for its children.
public enum Privileges {
    public static var isRoot: Bool { geteuid() == 0 }

    /// Becomes `account` for good: supplementary groups, gid, uid, then no_new_privs, then proves root is gone.
    public static func drop(to account: ServiceAccount) throws {
        guard account.uid != 0 else {
            throw ServerStartError("Refusing to serve mail as root: set mail_uid to an unprivileged user (e.g. vmail)")
        }
        guard aerie_set_single_group(account.gid) == 0 else { throw errnoError("setgroups") }
        guard setgid(account.gid) == 0 else { throw errnoError("setgid(\(account.gid))") }
        guard setuid(account.uid) == 0 else { throw errnoError("setuid(\(account.uid))") }
        try forbidNewPrivileges()
        guard setuid(0) != 0, geteuid() != 0, getuid() != 0 else {
            throw ServerStartError("Privileges could not be dropped: still able to become root")
        }
    }

    /// Confines the process to `directory` (as root, before `drop`), as Dovecot's mail processes for `mail_chroot`,
    /// the userdb `chroot` field or `/./` in the home (`MailRoutePolicy.placement` decides it).
    public static func chroot(to directory: String) throws {
        guard Glibc.chdir(directory) == 0, Glibc.chroot(".") == 0, Glibc.chdir("/") == 0 else {
            throw ServerStartError("Cannot chroot to \(directory): \(systemError())")
        }
    }

    /// PR_SET_NO_NEW_PRIVS: no setuid binary we might exec can give privileges back.
    public static func forbidNewPrivileges() throws {
        guard aerie_set_no_new_privs() == 0 else { throw errnoError("prctl(PR_SET_NO_NEW_PRIVS)") }
    }

    public static var noNewPrivileges: Bool { aerie_get_no_new_privs() == 1 }

    static func errnoError(_ call: String) -> ServerStartError {
        ServerStartError("\(call) failed: \(systemError())")
    }
}
