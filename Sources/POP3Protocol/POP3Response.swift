import AerieCore

/// Extended response codes (RFC 2449 §8, RFC 3206 §4–§5, RFC 6856 §3), sent as `-ERR [CODE] text`.
public enum POP3ResponseCode: String, Sendable, Equatable, CaseIterable {
    /// RFC 3206 §5: the failure is about the credentials; retrying them will not help.
    case auth = "AUTH"
    /// RFC 3206 §4: a transient system failure; retry later.
    case sysTemp = "SYS/TEMP"
    /// RFC 3206 §4: a permanent system failure.
    case sysPerm = "SYS/PERM"
    /// RFC 2449 §8.1.1: the maildrop is locked by another session.
    case inUse = "IN-USE"
    /// RFC 2449 §8.1.2: the user logged in too recently.
    case loginDelay = "LOGIN-DELAY"
    /// RFC 6856 §3: the failure is about UTF-8 in the mailbox.
    case utf8 = "UTF8"
}

/// A server response, encoded with `bytes`.
///
/// RFC 1939 §3: `+OK` / `-ERR` status lines, multi-line responses terminated by `.` with dot-stuffing;
/// RFC 5034 §4: `+ base64` continuations. Texts are made single-line (CR, LF, NUL become SP).
public enum POP3Response: Sendable, Equatable {
    /// `+OK text`.
    case ok(String)
    /// `-ERR [CODE] text` (RFC 2449 §8: the code is optional).
    case err(code: POP3ResponseCode?, String)
    /// `+OK first`, then each line dot-stuffed, then `.` (RFC 1939 §3).
    case multiline(first: String, lines: [String])
    /// RFC 5034 §4 server challenge: `+ ` followed by the base64 text (empty for an empty challenge).
    case continuation(String)

    /// The wire form, CRLF-terminated.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .ok(let text):
            Self.appendStatus("+OK", text, to: &out)
        case .err(let code, let text):
            let prefix = code.map { "-ERR [\($0.rawValue)]" } ?? "-ERR"
            Self.appendStatus(prefix, text, to: &out)
        case .multiline(let first, let lines):
            Self.appendStatus("+OK", first, to: &out)
            for line in lines {
                let safe = line.singleLine
                if safe.utf8.first == ASCII.dot { out.append(ASCII.dot) }
                out.append(contentsOf: safe.utf8)
                out.append(contentsOf: [ASCII.cr, ASCII.lf])
            }
            out.append(contentsOf: [ASCII.dot, ASCII.cr, ASCII.lf])
        case .continuation(let text):
            out.append(contentsOf: "+ ".utf8)
            out.append(contentsOf: text.singleLine.utf8)
            out.append(contentsOf: [ASCII.cr, ASCII.lf])
        }
        return out
    }

    private static func appendStatus(_ status: String, _ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: status.utf8)
        if !text.isEmpty {
            out.append(ASCII.space)
            out.append(contentsOf: text.singleLine.utf8)
        }
        out.append(contentsOf: [ASCII.cr, ASCII.lf])
    }
}

/// The `CAPA` listing (RFC 2449 §5–§6), built from what the session offers at this moment.
public struct POP3Capabilities: Sendable, Equatable {
    /// RFC 5034 §5 `SASL` mechanisms, empty to omit the line.
    public var saslMechanisms: [String]
    /// RFC 2449 §6.4 `USER`: plaintext USER/PASS is offered.
    public var user: Bool
    /// RFC 2595 §4 `STLS`.
    public var stls: Bool
    /// RFC 6856 §2 `UTF8` (with `USER` when UTF-8 user names are accepted).
    public var utf8: Bool
    /// RFC 2449 §6.9 `IMPLEMENTATION`, nil to omit.
    public var implementation: String?

    public init(saslMechanisms: [String] = [], user: Bool = true, stls: Bool = false, utf8: Bool = false, implementation: String? = nil) {
        self.saslMechanisms = saslMechanisms
        self.user = user
        self.stls = stls
        self.utf8 = utf8
        self.implementation = implementation
    }

    /// The capability lines, in Dovecot's order: RFC 2449 §6.1 TOP, §6.8 UIDL, §6.6 RESP-CODES,
    /// §6.7 PIPELINING, RFC 3206 §6 AUTH-RESP-CODE, then the flag-driven ones.
    public var lines: [String] {
        var lines = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
        if utf8 { lines.append(user ? "UTF8 USER" : "UTF8") }
        if stls { lines.append("STLS") }
        if user { lines.append("USER") }
        if !saslMechanisms.isEmpty { lines.append((["SASL"] + saslMechanisms).joined(separator: " ")) }
        if let implementation { lines.append("IMPLEMENTATION \(implementation)") }
        return lines
    }

    /// The whole `CAPA` response.
    public var response: POP3Response { .multiline(first: "", lines: lines) }
}
