import SASL

/// One step of a SASL exchange that runs in the auth process, where the stored credentials are (SCRAM:
/// RFC 5802 §5 needs the server's StoredKey and ServerKey, which never leave it).
public struct SASLStepRequest: Sendable, Equatable {
    /// 0 starts an exchange of `context.mechanism`; otherwise the exchange the auth process named in its challenge.
    public var exchange: UInt32
    /// Who asks and how (mechanism, service, addresses, TLS, session id); `user` and `password` are empty.
    public var context: AuthRequest
    /// The client's decoded response.
    public var response: [UInt8]
    /// The connection's RFC 9266 `tls-exporter` data when the session offers SCRAM -PLUS; nil otherwise.
    public var channelBinding: [UInt8]?

    public init(exchange: UInt32, context: AuthRequest, response: [UInt8], channelBinding: [UInt8]? = nil) {
        self.exchange = exchange
        self.context = context
        self.response = response
        self.channelBinding = channelBinding
    }
}

public enum SASLStepReply: Sendable, Equatable {
    /// Send these bytes as a challenge; the client's answer goes back with `exchange`. `user` is the name the
    /// client gave, for the session's log lines.
    case challenge(exchange: UInt32, user: String, [UInt8])
    /// The exchange ended. On success `serverFinal` is the mechanism's last message (RFC 5802 `v=`), sent as a
    /// challenge whose (empty) answer the session waits for before it says OK (RFC 4422 §5 additional data).
    case finished(AuthResult, serverFinal: [UInt8]?)
}

/// An `Authenticator` that also runs mechanisms needing stored credentials.
public protocol SASLStepAuthenticator: Authenticator {
    func saslStep(_ request: SASLStepRequest) async -> SASLStepReply
}
