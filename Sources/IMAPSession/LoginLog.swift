import AerieCore

/// Log lines of the login phase, in the Dovecot 2.3 shapes that deployed fail2ban filters match.
extension IMAPSession {
    /// `Login: user=<u>, method=PLAIN, rip=…, lip=…, mpid=…, TLS, session=<…>`
    public func loginLogLine(processID: Int32) -> String {
        "Login: " + elements(user: authenticatedUser?.user, processID: processID)
    }

    /// `Disconnected: REASON (auth failed, N attempts in S secs): user=<u>, method=PLAIN, rip=…, lip=…, TLS, session=<…>`
    public func disconnectLogLine(reason: String, elapsedSeconds: Int64) -> String {
        var detail: String
        if authFailures > 0 {
            detail = "auth failed, \(authFailures) attempts in \(elapsedSeconds) secs"
        } else if let method = triedDisallowedPlaintext {
            detail = "tried to use disallowed \(method) auth"
        } else {
            detail = "no auth attempts in \(elapsedSeconds) secs"
        }
        // Always "Disconnected: REASON (…)": fail2ban's filter misses Dovecot's bare "Aborted login by logging out (…)".
        let head = "Disconnected: \(reason)"
        return "\(head) (\(detail)): " + elements(user: lastAttemptedUser, processID: nil)
    }

    private func elements(user: String?, processID: Int32?) -> String {
        var parts: [String] = []
        if let user, !user.isEmpty { parts.append("user=<\(LogSafe.userName(user))>") }
        if let method = lastMethod { parts.append("method=\(method)") }
        parts.append("rip=\(context.remoteIP)")
        parts.append("lip=\(context.localIP)")
        if let processID { parts.append("mpid=\(processID)") }
        if context.isTLS { parts.append("TLS") }
        parts.append("session=<\(context.sessionID)>")
        return parts.joined(separator: ", ")
    }
}

