#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IP address as its bytes: 4 for IPv4, 16 for IPv6.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Dotted IPv4 or RFC 4291 §2.2 IPv6 text; brackets and an RFC 4007 zone index (`%eth0`) are dropped.
    public init?(_ text: some StringProtocol) {
        var s = Substring(text)
        if s.hasPrefix("["), s.hasSuffix("]") { s = s.dropFirst().dropLast() }
        if let percent = s.firstIndex(of: "%") { s = s[..<percent] }
        guard !s.isEmpty, s.utf8.count <= 45 else { return nil }
        let text = String(s)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &v6) { Array($0) }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// RFC 4291 §2.5.5.2: `::ffff:a.b.c.d` is the IPv4 address a.b.c.d (how a dual-stack socket reports IPv4 peers).
    public var unmapped: IPAddress {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF else {
            return self
        }
        return IPAddress(uncheckedBytes: Array(bytes[12...]))
    }

    private init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

    /// The canonical text (RFC 5952 for IPv6), as `inet_ntop` and NIO's `ipAddress` write it.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var copy = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = copy.withUnsafeMutableBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR notation (RFC 4632 §3.1, RFC 4291 §2.3): `10.0.0.0/8`, `2001:db8::/32`; a bare address is
/// a /32 or /128. Host bits may be set (`10.1.2.3/8` is `10.0.0.0/8`), as Dovecot's net_parse_range allows.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(digits), value <= bits
            else { return nil }
            prefix = value
        }
        self.init(address: address, prefixLength: prefix)
    }

    public init(address: IPAddress, prefixLength: Int) {
        // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it maps.
        let unmapped = address.unmapped
        if unmapped.isIPv4 && !address.isIPv4 && prefixLength >= 96 {
            self.address = unmapped
            self.prefixLength = prefixLength - 96
        } else {
            self.address = address
            self.prefixLength = max(0, min(prefixLength, address.bytes.count * 8))
        }
    }

    /// Whether `candidate` is in this network; an IPv4-mapped IPv6 address counts as its IPv4 address.
    public func contains(_ candidate: IPAddress) -> Bool {
        let candidate = candidate.unmapped
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, candidate.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

/// A list of networks such as `login_trusted_networks` or passwd-file's `allow_nets`: separated by spaces or commas.
public struct CIDRList: Sendable, Equatable {
    public var networks: [CIDR]
    /// Entries that are not an address or a network: they match nothing (fail closed); callers report them.
    public var invalid: [String]

    public init(_ text: String) {
        self.init(text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init))
    }

    public init(_ items: [String]) {
        var networks: [CIDR] = []
        var invalid: [String] = []
        for item in items.flatMap({ $0.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }) }) {
            if let network = CIDR(item) { networks.append(network) } else { invalid.append(String(item)) }
        }
        self.networks = networks
        self.invalid = invalid
    }

    public var isEmpty: Bool { networks.isEmpty }

    public func contains(_ address: IPAddress) -> Bool { networks.contains { $0.contains(address) } }

    /// False for anything that is not an IP address (`local`, `unknown`).
    public func contains(_ ip: String) -> Bool {
        guard let address = IPAddress(ip) else { return false }
        return contains(address)
    }
}
