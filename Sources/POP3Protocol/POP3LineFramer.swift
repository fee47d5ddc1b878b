public import AerieCore

/// POP3 is framed by the shared `LineFramer`.
public typealias POP3LineFramer = LineFramer
public typealias POP3FramerEvent = LineFramerEvent

extension LineFramer {
    /// RFC 2449 §4: a command line is at most 255 octets (here without the CRLF, so clients counting it fit).
    /// Raise the limit while a SASL exchange runs: RFC 5034 §4 responses are not bound by it.
    public static let pop3CommandLineLength = 255
}
