public import NIOCore

/// RFC 9051 §7.1: the status condition of a status response.
public enum IMAPStatus: String, Sendable {
    case ok = "OK", no = "NO", bad = "BAD", preauth = "PREAUTH", bye = "BYE"
}

/// One server response line (RFC 9051 §7), encoded with CRLF.
public enum IMAPResponse: Sendable, Equatable {
    /// RFC 9051 §7.1: `greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF` (OK, PREAUTH or BYE).
    case greeting(IMAPStatus, IMAPResponseCode?, String)
    /// `* ` + data, e.g. `CAPABILITY IMAP4rev2 …` or `ID (…)`; may hold literals from `IMAPString`.
    case untagged(String)
    /// RFC 9051 §7.1: `* OK [CODE] text`, `* BYE text`.
    case untaggedStatus(IMAPStatus, IMAPResponseCode?, String)
    /// RFC 9051 §7.1: `response-tagged = tag SP resp-cond-state CRLF`.
    case tagged(IMAPTag, IMAPStatus, IMAPResponseCode?, String)
    /// RFC 9051 §7.5: `continue-req = "+" SP (resp-text / base64) CRLF`; empty text gives `+ `.
    case continuation(String)

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(bytes)
    }

    /// The encoded response, CRLF included.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .greeting(let status, let code, let text), .untaggedStatus(let status, let code, let text):
            out.append(contentsOf: "* ".utf8)
            Self.appendStatus(status, code, text, to: &out)
        case .untagged(let data):
            out.append(contentsOf: "* ".utf8)
            out.append(contentsOf: IMAPText.untaggedData(data))
        case .tagged(let tag, let status, let code, let text):
            out.append(contentsOf: tag.rawValue.utf8.filter(\.isTagChar))  // rawValue is settable: keep the line intact
            out.append(ASCII.space)
            Self.appendStatus(status, code, text, to: &out)
        case .continuation(let text):
            out.append(contentsOf: "+ ".utf8)
            out.append(contentsOf: IMAPText.text(text).utf8)
        }
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        return out
    }

    /// RFC 9051 §9: `resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text`,
    /// `resp-text = ["[" resp-text-code "]" SP] [text]`.
    private static func appendStatus(_ status: IMAPStatus, _ code: IMAPResponseCode?, _ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: status.rawValue.utf8)
        if let code {
            out.append(contentsOf: " [".utf8)
            out.append(contentsOf: code.text.utf8)
            out.append(contentsOf: "] ".utf8)
            out.append(contentsOf: IMAPText.text(text).utf8)
        } else if !text.isEmpty {
            out.append(ASCII.space)
            out.append(contentsOf: IMAPText.text(text).utf8)
        }
    }
}
