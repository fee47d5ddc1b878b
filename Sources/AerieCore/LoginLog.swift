/// Log lines of the login phase (IMAP and POP3), in the Dovecot 2.3 shapes that deployed fail2ban filters match.
public enum LoginLog {
    /// `Login: user=<u>, method=PLAIN, rip=…, lip=…, mpid=…, TLS, session=<…>`
    public static func login(user: String?, method: String?, context: ConnectionContext, processID: Int32) -> String {
        "Login: " + elements(user: user, method: method, context: context, processID: processID)
    }

    /// `Disconnected: REASON (auth failed, N attempts in S secs): user=<u>, method=PLAIN, rip=…, lip=…, TLS, session=<…>`
    ///
    /// Always "Disconnected: REASON (…)": fail2ban's filter misses Dovecot's bare "Aborted login by logging out (…)".
    public static func disconnect(
        reason: String, elapsedSeconds: Int64, authFailures: Int, disallowedPlaintextMethod: String?,
        user: String?, method: String?, context: ConnectionContext
    ) -> String {
        let detail: String
        if authFailures > 0 {
            detail = "auth failed, \(authFailures) attempts in \(elapsedSeconds) secs"
        } else if let disallowedPlaintextMethod {
            detail = "tried to use disallowed \(disallowedPlaintextMethod) auth"
        } else {
            detail = "no auth attempts in \(elapsedSeconds) secs"
        }
        return "Disconnected: \(reason) (\(detail)): "
            + elements(user: user, method: method, context: context, processID: nil)
    }

    static func elements(user: String?, method: String?, context: ConnectionContext, processID: Int32?) -> String {
        var parts: [String] = []
        if let user, !user.isEmpty { parts.append("user=<\(LogSafe.userName(user))>") }
        if let method { parts.append("method=\(method)") }
        parts.append("rip=\(context.remoteIP)")
        parts.append("lip=\(context.localIP)")
        if let processID { parts.append("mpid=\(processID)") }
        if context.isSecured { parts.append("TLS") }
        parts.append("session=<\(context.sessionID)>")
        return parts.joined(separator: ", ")
    }
}

/// A session with a login phase (IMAP, POP3): what its `Login:` and `Disconnected:` lines report.
public protocol LoginLogSource {
    var context: ConnectionContext { get }
    /// The name the connection logged in as, once it has.
    var loggedInUserName: String? { get }
    /// The last user name tried (never the password).
    var lastAttemptedUser: String? { get }
    /// The authentication method last tried, as the log names it.
    var lastMethod: String? { get }
    var authFailures: Int { get }
    /// What a client tried in cleartext before TLS where that is not allowed, as the log names it.
    var triedDisallowedPlaintext: String? { get }
}

extension LoginLogSource {
    public func loginLogLine(processID: Int32) -> String {
        LoginLog.login(user: loggedInUserName, method: lastMethod, context: context, processID: processID)
    }

    public func disconnectLogLine(reason: String, elapsedSeconds: Int64) -> String {
        LoginLog.disconnect(
            reason: reason, elapsedSeconds: elapsedSeconds, authFailures: authFailures,
            disallowedPlaintextMethod: triedDisallowedPlaintext, user: lastAttemptedUser, method: lastMethod,
            context: context)
    }
}
