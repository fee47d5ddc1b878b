/// Dovecot 2.3 auth log text, so fail2ban's `dovecot` filter and logwatch keep working:
/// `passwd-file(USER,RIP[,<SESSION>]): MESSAGE`.
enum AuthLogFormat {
    static let category = "auth"
    static let maximumUserLength = 100

    static func prefix(driver: String, user: String, remoteIP: String, sessionID: String) -> String {
        var inside = "\(sanitize(user)),\(sanitize(remoteIP))"
        if !sessionID.isEmpty { inside += ",<\(sanitize(sessionID))>" }
        return "\(driver)(\(inside))"
    }

    /// Makes a message safe after the prefix: one line (control and format characters become spaces), capped.
    static func message(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(300).map {
                    switch $0.properties.generalCategory {
                    case .control, .format, .lineSeparator, .paragraphSeparator: " "
                    default: $0
                    }
                }))
    }

    /// Makes client-chosen text safe inside the parenthesised prefix: control and format characters dropped
    /// (no forged lines), separators `space , ( ) < >` replaced by `_`, capped at 100 characters.
    static func sanitize(_ text: String) -> String {
        var output = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < maximumUserLength else { break }
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                continue
            case .spaceSeparator:
                output.unicodeScalars.append("_")
            default:
                output.unicodeScalars.append(",()<>".unicodeScalars.contains(scalar) ? "_" : scalar)
            }
            count += 1
        }
        return output
    }
}
