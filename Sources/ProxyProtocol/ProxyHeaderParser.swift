import AerieCore

/// Parses the PROXY protocol header a trusted proxy sends before anything else on a connection.
///
/// Incremental and without I/O: give it every byte received so far; it answers nil while more bytes are needed,
/// the header and its length once complete, or throws as soon as the bytes can no longer become a valid header
/// (so a client that is not a proxy is refused at its first wrong byte, not after a timeout).
/// - SeeAlso: HAProxy's "The PROXY protocol" (proxy-protocol.txt) §2.1 (v1), §2.2 (v2).
public enum ProxyHeaderParser {
    /// §2.1: "a receiver may [...] never read more than 107 characters" (the TCP6 worst case with CRLF).
    public static let maximumV1Length = 107
    /// §2.2: 16 fixed bytes and a 16-bit length; Aerie accepts TLVs up to this total, far above what HAProxy sends
    /// (addresses, the SSL TLV with version, cipher and certificate names, a unique ID).
    public static let maximumV2Length = 2048
    /// Enough to decide any header: the handler never buffers more than this before the header ends.
    public static let maximumLength = max(maximumV1Length, maximumV2Length)

    static let v1Signature: [UInt8] = Array("PROXY ".utf8)
    /// §2.2: `\r\n\r\n\0\r\nQUIT\n`.
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// The header at the start of `bytes` and how many bytes it took, or nil when more bytes are needed.
    public static func parse(_ bytes: [UInt8]) throws(ProxyHeaderError) -> (header: ProxyHeader, length: Int)? {
        guard let first = bytes.first else { return nil }
        if first == v1Signature[0] { return try parseV1(bytes) }
        if first == v2Signature[0] { return try parseV2(bytes) }
        throw ProxyHeaderError("Failed to read valid HAproxy data")
    }

    // MARK: - Version 1

    // "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF
    //   | "PROXY" SP "UNKNOWN" [ anything ] CRLF
    static func parseV1(_ bytes: [UInt8]) throws(ProxyHeaderError) -> (header: ProxyHeader, length: Int)? {
        for (byte, expected) in zip(bytes, v1Signature) where byte != expected {
            throw ProxyHeaderError("Failed to read valid HAproxy data")
        }
        let window = bytes.prefix(maximumV1Length)
        guard let lf = window.firstIndex(of: 0x0A) else {
            if bytes.count >= maximumV1Length { throw ProxyHeaderError("Too long header") }
            return nil
        }
        guard lf > 0, bytes[lf - 1] == 0x0D, lf >= v1Signature.count else {
            throw ProxyHeaderError("Header line does not end with CRLF")
        }
        let line = bytes[v1Signature.count..<(lf - 1)]
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw ProxyHeaderError("Header line has invalid characters")
        }
        let fields = line.split(separator: 0x20, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let length = lf + 1
        switch fields[0] {
        case "UNKNOWN":
            // §2.1: the receiver must ignore anything after UNKNOWN and use the connection's own addresses.
            return (ProxyHeader(version: .v1), length)
        case "TCP4", "TCP6":
            break
        case "":
            throw ProxyHeaderError("Field for proxied protocol is missing")
        default:
            throw ProxyHeaderError("Unknown proxied protocol (protocol=`\(sanitized(fields[0]))')")
        }
        guard fields.count == 5 else {
            throw ProxyHeaderError(
                fields.count < 5 ? "Header line has missing fields" : "Header line has spurious extra field")
        }
        let wantsV4 = fields[0] == "TCP4"
        func address(_ text: String, _ what: String) throws(ProxyHeaderError) -> IPAddress {
            // §2.1: IPv4 in dotted quad, IPv6 in RFC 4291 form; each must match the declared family.
            guard let address = IPAddress(text), address.isIPv4 == wantsV4, !text.contains("%"), !text.hasPrefix("[")
            else { throw ProxyHeaderError("Proxied \(what) address is invalid (address=`\(sanitized(text))')") }
            return address
        }
        func port(_ text: String, _ what: String) throws(ProxyHeaderError) -> Int {
            guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int(text), value <= 65535
            else { throw ProxyHeaderError("Proxied \(what) port is invalid (port=`\(sanitized(text))')") }
            return value
        }
        let source = ProxyHeader.Endpoint(
            address: try address(fields[1], "remote"), port: try port(fields[3], "remote"))
        let destination = ProxyHeader.Endpoint(
            address: try address(fields[2], "local"), port: try port(fields[4], "local"))
        return (ProxyHeader(version: .v1, source: source, destination: destination), length)
    }

    // MARK: - Version 2

    static let commandLocal: UInt8 = 0x0
    static let commandProxy: UInt8 = 0x1
    static let familyUnspecified: UInt8 = 0x0
    static let familyInet: UInt8 = 0x1
    static let familyInet6: UInt8 = 0x2
    static let familyUnix: UInt8 = 0x3
    static let transportStream: UInt8 = 0x1

    // sig(12) ver_cmd(1) fam(1) len(2, network order) addresses(len...) TLVs
    static func parseV2(_ bytes: [UInt8]) throws(ProxyHeaderError) -> (header: ProxyHeader, length: Int)? {
        for (byte, expected) in zip(bytes, v2Signature) where byte != expected {
            throw ProxyHeaderError("Failed to read valid HAproxy data")
        }
        if bytes.count > 12, bytes[12] >> 4 != 2 {
            throw ProxyHeaderError("Unsupported protocol version (version=\(bytes[12] >> 4))")
        }
        if bytes.count > 12, bytes[12] & 0x0F > commandProxy {
            throw ProxyHeaderError("Invalid command (cmd=\(bytes[12] & 0x0F))")
        }
        guard bytes.count >= 16 else { return nil }
        let total = 16 + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard total <= maximumV2Length else { throw ProxyHeaderError("Too long header (length=\(total))") }
        guard bytes.count >= total else { return nil }
        let command = bytes[12] & 0x0F
        // §2.2: LOCAL is the proxy speaking for itself (a health check): keep the connection's own addresses.
        if command == commandLocal { return (ProxyHeader(version: .v2), total) }
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        var header = ProxyHeader(version: .v2)
        var offset = 16
        switch family {
        case familyInet, familyInet6:
            guard transport == transportStream else {
                throw ProxyHeaderError("Not using TCP (type=\(transport))")
            }
            let size = family == familyInet ? 4 : 16
            guard total - 16 >= 2 * size + 4 else {
                throw ProxyHeaderError("\(family == familyInet ? "IPv4" : "IPv6") data is incomplete")
            }
            let source = IPAddress(bytes: Array(bytes[offset..<offset + size]))!
            let destination = IPAddress(bytes: Array(bytes[offset + size..<offset + 2 * size]))!
            let ports = offset + 2 * size
            header.source = .init(address: source, port: Int(bytes[ports]) << 8 | Int(bytes[ports + 1]))
            header.destination = .init(address: destination, port: Int(bytes[ports + 2]) << 8 | Int(bytes[ports + 3]))
            offset += 2 * size + 4
        case familyUnix:
            // §2.2: 108-byte source and destination paths; no IP to use, so the connection's own addresses apply.
            guard total - 16 >= 216 else { throw ProxyHeaderError("UNIX data is incomplete") }
            offset += 216
        case familyUnspecified:
            break
        default:
            throw ProxyHeaderError("Unknown address family (family=\(family))")
        }
        header.tls = try parseTLVs(bytes[offset..<total])
        return (header, total)
    }

    static let typeSSL: UInt8 = 0x20
    static let subtypeSSLVersion: UInt8 = 0x21
    static let subtypeSSLCipher: UInt8 = 0x23
    static let clientSSL: UInt8 = 0x01
    static let clientCertConnection: UInt8 = 0x02
    static let clientCertSession: UInt8 = 0x04

    /// §2.2.1–2.2.7: type(1) length(2) value; each must fit in what is left. Only PP2_TYPE_SSL matters here.
    static func parseTLVs(_ bytes: ArraySlice<UInt8>) throws(ProxyHeaderError) -> ProxyHeader.TLS? {
        var tls: ProxyHeader.TLS?
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            guard bytes.endIndex - offset >= 3 else { throw ProxyHeaderError("Invalid TLV: truncated TLV header") }
            let type = bytes[offset]
            let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let value = offset + 3
            guard bytes.endIndex - value >= length else { throw ProxyHeaderError("Invalid TLV: length exceeds header") }
            if type == typeSSL { tls = try parseSSL(bytes[value..<value + length]) }
            offset = value + length
        }
        return tls
    }

    /// §2.2.5: client(1) verify(4) then sub-TLVs.
    static func parseSSL(_ bytes: ArraySlice<UInt8>) throws(ProxyHeaderError) -> ProxyHeader.TLS {
        guard bytes.count >= 5 else { throw ProxyHeaderError("Invalid TLV: SSL TLV too short") }
        let client = bytes[bytes.startIndex]
        let verify = bytes[(bytes.startIndex + 1)..<(bytes.startIndex + 5)].allSatisfy { $0 == 0 }
        var tls = ProxyHeader.TLS(
            clientUsedTLS: client & clientSSL != 0,
            clientCertificate: client & (clientCertConnection | clientCertSession) != 0, verified: verify)
        var offset = bytes.startIndex + 5
        while offset < bytes.endIndex {
            guard bytes.endIndex - offset >= 3 else { throw ProxyHeaderError("Invalid TLV: truncated SSL sub-TLV") }
            let type = bytes[offset]
            let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            let value = offset + 3
            guard bytes.endIndex - value >= length else {
                throw ProxyHeaderError("Invalid TLV: SSL sub-TLV length exceeds its TLV")
            }
            let text = sanitized(String(decoding: bytes[value..<value + length], as: UTF8.self))
            if type == subtypeSSLVersion { tls.version = text }
            if type == subtypeSSLCipher { tls.cipher = text }
            offset = value + length
        }
        return tls
    }
}

/// Text from the peer as it may appear in a log line: printable ASCII, at most 64 characters (as Dovecot's
/// str_sanitize(…, 64)).
func sanitized(_ text: String) -> String {
    let cleaned = text.unicodeScalars.prefix(64).map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" }
    return String(cleaned) + (text.unicodeScalars.count > 64 ? "..." : "")
}
