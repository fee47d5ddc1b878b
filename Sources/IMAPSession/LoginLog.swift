import AerieCore

/// The login phase's log lines (shapes in `LoginLog`), for category `imap-login`.
extension IMAPSession {
    public func loginLogLine(processID: Int32) -> String {
        LoginLog.login(user: authenticatedUser?.user, method: lastMethod, context: context, processID: processID)
    }

    public func disconnectLogLine(reason: String, elapsedSeconds: Int64) -> String {
        LoginLog.disconnect(
            reason: reason, elapsedSeconds: elapsedSeconds, authFailures: authFailures,
            disallowedPlaintextMethod: triedDisallowedPlaintext, user: lastAttemptedUser, method: lastMethod,
            context: context)
    }
}
