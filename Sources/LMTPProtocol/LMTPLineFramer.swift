public import AerieCore

/// The LMTP command phase is framed by the shared `LineFramer`.
public typealias LMTPLineFramer = LineFramer
public typealias LMTPFramerEvent = LineFramerEvent

extension LineFramer {
    /// RFC 5321 §4.5.3.1.4 allows 512 octets, raised by extensions (§4.5.3.1.7); 4096 leaves room for every
    /// parameter Postfix sends.
    public static let lmtpCommandLineLength = 4096
}
