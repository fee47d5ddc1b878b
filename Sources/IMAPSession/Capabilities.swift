import SASL

/// RFC 9051 §7.2.2: what we advertise depends on the state, so clients never see a command that would fail.
enum Capabilities {
    static func list(
        authenticated: Bool, isTLS: Bool, startTLSAvailable: Bool, cleartextAllowed: Bool, mechanisms: [SASLMechanism],
        appendLimit: Int? = nil, unauthenticate: Bool = true
    ) -> [String] {
        if authenticated {
            let all = MailSession.capabilities(appendLimit: appendLimit)
            return unauthenticate ? all : all.filter { $0 != "UNAUTHENTICATE" }
        }
        var caps = ["IMAP4rev2", "IMAP4rev1", "ID", "ENABLE", "LITERAL+"]
        caps.append("SASL-IR")
        if !isTLS && startTLSAvailable { caps.append("STARTTLS") }
        if isTLS || cleartextAllowed {
            caps += mechanisms.map { "AUTH=\($0.rawValue)" }
        } else {
            // RFC 9051 §6.2.3: LOGINDISABLED; our mechanisms all send passwords, so none is offered before TLS.
            caps.append("LOGINDISABLED")
        }
        return caps
    }
}
