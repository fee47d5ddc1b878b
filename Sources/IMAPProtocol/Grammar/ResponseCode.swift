/// The bracketed code at the start of a status response's text.
///
/// RFC 9051 §7.1 and §9: `resp-text-code = "ALERT" / … / capability-data / atom [SP 1*<any TEXT-CHAR except "]">]`.
/// TOOBIG is RFC 4469 §5.
public enum IMAPResponseCode: Sendable, Equatable {
    case alert
    case capability([String])
    case privacyRequired
    case authenticationFailed
    case authorizationFailed
    case unavailable
    case tooBig
    case limit
    case cannot
    case clientBug
    case serverBug
    case contactAdmin
    case expired
    case parse
    /// Any other code, written as given minus characters that would end it (`]`, CR, LF, NUL).
    case other(String)

    /// The code's text, without brackets.
    public var text: String {
        switch self {
        case .alert: "ALERT"
        case .capability(let names): (["CAPABILITY"] + names.map(IMAPText.atom)).joined(separator: " ")
        case .privacyRequired: "PRIVACYREQUIRED"
        case .authenticationFailed: "AUTHENTICATIONFAILED"
        case .authorizationFailed: "AUTHORIZATIONFAILED"
        case .unavailable: "UNAVAILABLE"
        case .tooBig: "TOOBIG"
        case .limit: "LIMIT"
        case .cannot: "CANNOT"
        case .clientBug: "CLIENTBUG"
        case .serverBug: "SERVERBUG"
        case .contactAdmin: "CONTACTADMIN"
        case .expired: "EXPIRED"
        case .parse: "PARSE"
        case .other(let code): IMAPText.codeText(code)
        }
    }
}
