/// One POP3 client command (RFC 1939 §4–§7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4, RFC 6856 §3).
public enum POP3Command: Sendable, Equatable {
    /// RFC 1939 §7 `USER name`.
    case user(String)
    /// RFC 1939 §7 `PASS string`: everything after the first SP, spaces included.
    case pass(String)
    /// RFC 1939 §7 `APOP name digest`; parsed so the session can refuse it by name.
    case apop(user: String, digest: String)
    /// RFC 5034 §4 `AUTH mechanism [initial-response]`; RFC 1939-era bare `AUTH` lists mechanisms.
    /// The mechanism is upper-cased; the initial response is the raw base64 text ("=" for empty).
    case auth(mechanism: String?, initialResponse: String?)
    /// RFC 1939 §5 `STAT`.
    case stat
    /// RFC 1939 §5 `LIST [msg]`.
    case list(Int?)
    /// RFC 1939 §5 `RETR msg`.
    case retr(Int)
    /// RFC 1939 §5 `DELE msg`.
    case dele(Int)
    /// RFC 1939 §5 `NOOP`.
    case noop
    /// RFC 1939 §5 `RSET`.
    case rset
    /// RFC 1939 §4 / §6 `QUIT`.
    case quit
    /// RFC 1939 §7 `TOP msg n`.
    case top(msg: Int, lines: Int)
    /// RFC 1939 §7 `UIDL [msg]`.
    case uidl(Int?)
    /// RFC 2449 §5 `CAPA`.
    case capa
    /// RFC 2595 §4 `STLS`.
    case stls
    /// RFC 6856 §3 `UTF8`.
    case utf8

    /// The keyword as the client would send it, upper-cased.
    public var keyword: String {
        switch self {
        case .user: "USER"
        case .pass: "PASS"
        case .apop: "APOP"
        case .auth: "AUTH"
        case .stat: "STAT"
        case .list: "LIST"
        case .retr: "RETR"
        case .dele: "DELE"
        case .noop: "NOOP"
        case .rset: "RSET"
        case .quit: "QUIT"
        case .top: "TOP"
        case .uidl: "UIDL"
        case .capa: "CAPA"
        case .stls: "STLS"
        case .utf8: "UTF8"
        }
    }

    /// A log-safe rendering: the PASS argument, the APOP digest and AUTH initial responses become `<hidden>`.
    public var redactedDescription: String {
        switch self {
        case .user(let name): "USER \(Self.loggable(name))"
        case .pass: "PASS <hidden>"
        case .apop(let user, _): "APOP \(Self.loggable(user)) <hidden>"
        case .auth(nil, _): "AUTH"
        case .auth(let mechanism?, nil): "AUTH \(mechanism)"
        case .auth(let mechanism?, _?): "AUTH \(mechanism) <hidden>"
        case .list(let msg?): "LIST \(msg)"
        case .retr(let msg): "RETR \(msg)"
        case .dele(let msg): "DELE \(msg)"
        case .top(let msg, let lines): "TOP \(msg) \(lines)"
        case .uidl(let msg?): "UIDL \(msg)"
        case .stat, .list(nil), .noop, .rset, .quit, .uidl(nil), .capa, .stls, .utf8: keyword
        }
    }

    /// A log-safe rendering of any client line, even one that failed to parse: after PASS, APOP and AUTH
    /// keywords (and for lines that may be SASL responses, see `redactedSASLResponse`) the arguments are hidden.
    public static func redactedDescription(of line: [UInt8]) -> String {
        let space = line.firstIndex(of: ASCII.space) ?? line.endIndex
        let keyword = String(decoding: line[..<space].map(\.asciiUppercased), as: UTF8.self)
        let hidesArguments = keyword == "PASS" || keyword == "APOP" || keyword == "AUTH"
        guard hidesArguments, space < line.endIndex else { return loggable(String(decoding: line, as: UTF8.self)) }
        return loggable(keyword) + " <hidden>"
    }

    /// How to log a line sent during a SASL exchange (RFC 5034 §4): never its content.
    public static let redactedSASLResponse = "<hidden SASL response>"

    /// Control characters and non-ASCII shown as `?`, capped, so a log line stays one line and bounded.
    static func loggable(_ text: String) -> String {
        let limit = 128
        var bytes = text.utf8.prefix(limit).map { $0.isVisibleASCII || $0 == ASCII.space ? $0 : UInt8(ascii: "?") }
        if text.utf8.count > limit { bytes.append(contentsOf: "...".utf8) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
