public import AerieCore

/// The login phase's log lines (shapes in `LoginLog`), for category `pop3-login`.
extension POP3Session: LoginLogSource {
    public var loggedInUserName: String? { authenticatedUser?.user }
}
