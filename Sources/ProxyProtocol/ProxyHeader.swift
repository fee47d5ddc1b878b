public import AerieCore

/// What a PROXY protocol header says about the connection the proxy accepted.
/// - SeeAlso: HAProxy's "The PROXY protocol" versions 1 and 2 (proxy-protocol.txt).
public struct ProxyHeader: Sendable, Equatable {
    public enum Version: Int, Sendable { case v1 = 1, v2 = 2 }

    public struct Endpoint: Sendable, Equatable {
        public var address: IPAddress
        public var port: Int
        public init(address: IPAddress, port: Int) {
            self.address = address
            self.port = port
        }
    }

    /// TLS between the client and the proxy, from v2's PP2_TYPE_SSL TLV (§2.2.5).
    public struct TLS: Sendable, Equatable {
        /// PP2_CLIENT_SSL: the client connected over TLS.
        public var clientUsedTLS: Bool
        /// PP2_CLIENT_CERT_CONN / PP2_CLIENT_CERT_SESS: the client presented a certificate.
        public var clientCertificate: Bool
        /// `verify` is 0: the certificate (if any) was verified.
        public var verified: Bool
        /// PP2_SUBTYPE_SSL_VERSION, e.g. "TLSv1.3".
        public var version: String?
        /// PP2_SUBTYPE_SSL_CIPHER.
        public var cipher: String?
        public init(
            clientUsedTLS: Bool, clientCertificate: Bool = false, verified: Bool = true, version: String? = nil,
            cipher: String? = nil
        ) {
            self.clientUsedTLS = clientUsedTLS
            self.clientCertificate = clientCertificate
            self.verified = verified
            self.version = version
            self.cipher = cipher
        }
    }

    public var version: Version
    /// The client and the address it connected to; nil for v1 `UNKNOWN`, v2 `LOCAL` (a health check from the
    /// proxy itself) and v2 address families other than TCP over IPv4/IPv6: the connection's own addresses apply.
    public var source: Endpoint?
    public var destination: Endpoint?
    public var tls: TLS?

    public init(version: Version, source: Endpoint? = nil, destination: Endpoint? = nil, tls: TLS? = nil) {
        self.version = version
        self.source = source
        self.destination = destination
        self.tls = tls
    }

    /// Whether the proxy says the client's own leg was encrypted.
    public var clientUsedTLS: Bool { tls?.clientUsedTLS ?? false }
}

/// Why a PROXY header was refused; the text goes into the log line.
public struct ProxyHeaderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
