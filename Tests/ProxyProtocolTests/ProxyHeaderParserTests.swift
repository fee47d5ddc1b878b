import AerieCore
import ProxyProtocol
import Testing

@Suite struct ProxyHeaderParserTests {
    /// Feeds `bytes` one at a time, as a slow network would: nil until the last byte of the header, then the header.
    /// Then the header plus what the client sent behind it: the length stays the header's.
    func byteByByte(_ bytes: [UInt8], then trailing: [UInt8] = []) throws -> (header: ProxyHeader, length: Int) {
        for end in 0..<bytes.count {
            #expect(try ProxyHeaderParser.parse(Array(bytes[..<end])) == nil, "complete after \(end) bytes")
        }
        let parsed = try #require(try ProxyHeaderParser.parse(bytes))
        let withTrailing = try #require(try ProxyHeaderParser.parse(bytes + trailing))
        #expect(withTrailing.length == parsed.length && withTrailing.header == parsed.header)
        return parsed
    }

    /// The error the parser gives, fed byte by byte: it must be raised no later than the whole input.
    func failure(_ bytes: [UInt8]) -> String? {
        for end in 1...bytes.count {
            do { _ = try ProxyHeaderParser.parse(Array(bytes[..<end])) } catch { return error.description }
        }
        return nil
    }

    static let v2Sig: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    func v2(command: UInt8 = 0x21, family: UInt8 = 0x11, body: [UInt8]) -> [UInt8] {
        Self.v2Sig + [command, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    let v4Addresses: [UInt8] = [127, 0, 0, 2, 127, 0, 0, 1, 0xC3, 0x50, 0x03, 0xE1]  // 50000 -> 993

    // MARK: v1

    @Test func v1TCP4() throws {
        let text = Array("PROXY TCP4 192.0.2.7 198.51.100.1 56324 143\r\n".utf8)
        let (header, length) = try byteByByte(text, then: Array("a LOGIN".utf8))
        #expect(length == text.count)
        #expect(header.version == .v1)
        #expect(header.source == .init(address: IPAddress("192.0.2.7")!, port: 56324))
        #expect(header.destination == .init(address: IPAddress("198.51.100.1")!, port: 143))
        #expect(!header.clientUsedTLS)
    }

    @Test func v1LongestHeaders() throws {
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let text = Array("PROXY TCP6 \(full) \(full) 65535 65535\r\n".utf8)
        let (header, length) = try byteByByte(text)
        #expect(length == 104)
        #expect(header.source?.port == 65535)
        #expect(header.source?.address.description == full)
        // §2.1's 107: the same addresses after UNKNOWN, the longest line a receiver must accept.
        let unknown = Array("PROXY UNKNOWN \(full) \(full) 65535 65535\r\n".utf8)
        #expect(unknown.count == ProxyHeaderParser.maximumV1Length)
        #expect(try byteByByte(unknown).length == 107)
    }

    @Test func v1Unknown() throws {
        let (header, length) = try byteByByte(Array("PROXY UNKNOWN ffff::1 whatever\r\n".utf8))
        #expect(length == 32)
        #expect(header.source == nil && header.destination == nil)
        #expect(try ProxyHeaderParser.parse(Array("PROXY UNKNOWN\r\n".utf8))?.length == 15)
    }

    @Test func v1Malformed() {
        #expect(failure(Array("GET / HTTP/1.0\r\n".utf8)) == "Failed to read valid HAproxy data")
        #expect(failure(Array("PROXZ TCP4".utf8)) == "Failed to read valid HAproxy data")
        #expect(failure(Array("a LOGIN x y\r\n".utf8)) == "Failed to read valid HAproxy data")
        #expect(failure(Array("PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n".utf8))?.hasPrefix("Unknown proxied protocol")
            == true)
        #expect(failure(Array("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n".utf8)) == "Header line has missing fields")
        #expect(failure(Array("PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n".utf8)) == "Header line has spurious extra field")
        #expect(failure(Array("PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n".utf8)) != nil)
        #expect(failure(Array("PROXY TCP4 ::1 1.2.3.4 1 2\r\n".utf8))?.hasPrefix("Proxied remote address") == true)
        #expect(failure(Array("PROXY TCP6 ::1 1.2.3.4 1 2\r\n".utf8))?.hasPrefix("Proxied local address") == true)
        #expect(failure(Array("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n".utf8))?.hasPrefix("Proxied remote port") == true)
        #expect(failure(Array("PROXY TCP4 1.2.3.4 1.2.3.4 1 -2\r\n".utf8))?.hasPrefix("Proxied local port") == true)
        #expect(failure(Array("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n".utf8)) == "Header line does not end with CRLF")
        #expect(failure(Array("PROXY TCP4 1.2.3.4\u{0} 1.2.3.4 1 2\r\n".utf8)) == "Header line has invalid characters")
        #expect(failure(Array("PROXY \r\n".utf8)) == "Field for proxied protocol is missing")
    }

    @Test func v1LongerThan107BytesIsRefusedAtByte107() throws {
        let long = Array(("PROXY UNKNOWN " + String(repeating: "x", count: 200)).utf8)
        #expect(throws: ProxyHeaderError("Too long header")) { try ProxyHeaderParser.parse(Array(long.prefix(107))) }
        #expect(try ProxyHeaderParser.parse(Array(long.prefix(106))) == nil)
    }

    // MARK: v2

    @Test func v2ProxyIPv4() throws {
        let bytes = v2(body: v4Addresses)
        let (header, length) = try byteByByte(bytes, then: [0x16, 0x03, 0x01])
        #expect(length == 28)
        #expect(header.version == .v2)
        #expect(header.source == .init(address: IPAddress("127.0.0.2")!, port: 50000))
        #expect(header.destination == .init(address: IPAddress("127.0.0.1")!, port: 993))
        #expect(header.tls == nil)
    }

    @Test func v2ProxyIPv6() throws {
        let source = IPAddress("2001:db8::7")!.bytes, destination = IPAddress("2001:db8::1")!.bytes
        let (header, _) = try byteByByte(v2(family: 0x21, body: source + destination + [0, 1, 0, 143]))
        #expect(header.source == .init(address: IPAddress("2001:db8::7")!, port: 1))
        #expect(header.destination?.port == 143)
    }

    @Test func v2SSLTLV() throws {
        let version: [UInt8] = [0x21, 0, 7] + Array("TLSv1.3".utf8)
        let cipher: [UInt8] = [0x23, 0, 22] + Array("TLS_AES_256_GCM_SHA384".utf8)
        let ssl: [UInt8] = [0x07, 0, 0, 0, 0] + version + cipher
        let tlvs: [UInt8] = [0x04, 0, 2, 0, 0] + [0x20, UInt8(ssl.count >> 8), UInt8(ssl.count & 0xFF)] + ssl
        let (header, _) = try byteByByte(v2(body: v4Addresses + tlvs))
        #expect(header.clientUsedTLS)
        #expect(header.tls == .init(
            clientUsedTLS: true, clientCertificate: true, verified: true, version: "TLSv1.3",
            cipher: "TLS_AES_256_GCM_SHA384"))
        // The SSL TLV without PP2_CLIENT_SSL: the client's leg was plaintext.
        let plain = try #require(try ProxyHeaderParser.parse(v2(body: v4Addresses + [0x20, 0, 5, 0, 0, 0, 0, 1])))
        #expect(!plain.header.clientUsedTLS)
        #expect(plain.header.tls?.verified == false)
    }

    @Test func v2LocalKeepsTheConnectionsAddresses() throws {
        let (header, length) = try byteByByte(v2(command: 0x20, family: 0x00, body: [1, 2, 3]))
        #expect(length == 19)
        #expect(header.source == nil)
        let unspecified = try #require(try ProxyHeaderParser.parse(v2(family: 0x00, body: [])))
        #expect(unspecified.header.source == nil)
        let unix = try #require(try ProxyHeaderParser.parse(v2(family: 0x31, body: [UInt8](repeating: 0, count: 216))))
        #expect(unix.header.source == nil)
    }

    @Test func v2Malformed() {
        #expect(failure(Self.v2Sig.prefix(6) + [0x00]) == "Failed to read valid HAproxy data")
        #expect(failure(v2(command: 0x11, body: v4Addresses)) == "Unsupported protocol version (version=1)")
        #expect(failure(v2(command: 0x22, body: v4Addresses)) == "Invalid command (cmd=2)")
        #expect(failure(v2(family: 0x12, body: v4Addresses)) == "Not using TCP (type=2)")
        #expect(failure(v2(family: 0x41, body: v4Addresses)) == "Unknown address family (family=4)")
        #expect(failure(v2(body: Array(v4Addresses.prefix(11)))) == "IPv4 data is incomplete")
        #expect(failure(v2(family: 0x21, body: v4Addresses)) == "IPv6 data is incomplete")
        #expect(failure(v2(family: 0x31, body: v4Addresses)) == "UNIX data is incomplete")
        #expect(failure(v2(body: v4Addresses + [0x20, 0])) == "Invalid TLV: truncated TLV header")
        #expect(failure(v2(body: v4Addresses + [0x04, 0, 5, 0])) == "Invalid TLV: length exceeds header")
        #expect(failure(v2(body: v4Addresses + [0x20, 0, 4, 1, 0, 0, 0])) == "Invalid TLV: SSL TLV too short")
        #expect(failure(v2(body: v4Addresses + [0x20, 0, 7, 1, 0, 0, 0, 0, 0x21, 0]))
            == "Invalid TLV: truncated SSL sub-TLV")
        #expect(failure(v2(body: v4Addresses + [0x20, 0, 8, 1, 0, 0, 0, 0, 0x21, 0, 9]))
            == "Invalid TLV: SSL sub-TLV length exceeds its TLV")
    }

    @Test func v2LengthIsBoundedBeforeTheBodyArrives() {
        let header = Self.v2Sig + [0x21, 0x11, 0xFF, 0xFF]
        #expect(throws: ProxyHeaderError("Too long header (length=65551)")) { try ProxyHeaderParser.parse(header) }
        let largest = ProxyHeaderParser.maximumV2Length - 16
        let atBound = v2(body: v4Addresses + [0x04, UInt8((largest - 15) >> 8), UInt8((largest - 15) & 0xFF)]
            + [UInt8](repeating: 0, count: largest - 15))
        #expect(atBound.count == ProxyHeaderParser.maximumV2Length)
        #expect((try? ProxyHeaderParser.parse(atBound))??.length == ProxyHeaderParser.maximumV2Length)
        let over = Self.v2Sig + [0x21, 0x11, UInt8((largest + 1) >> 8), UInt8((largest + 1) & 0xFF)]
        #expect(throws: ProxyHeaderError.self) { try ProxyHeaderParser.parse(over) }
    }

    @Test func emptyInputNeedsMore() throws {
        #expect(try ProxyHeaderParser.parse([]) == nil)
    }
}
