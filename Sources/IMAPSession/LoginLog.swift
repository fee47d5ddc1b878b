public import AerieCore

/// The login phase's log lines (shapes in `LoginLog`), for category `imap-login`.
extension IMAPSession: LoginLogSource {
    public var loggedInUserName: String? { authenticatedUser?.user }
}
