#if canImport(Glibc)
    import Glibc
#endif

/// The passwd-file extra field `allow_nets=10.0.0.0/8,2001:db8::/32,192.0.2.7`: where a user may log in from.
struct AllowNets: Sendable, Equatable {
    struct Network: Sendable, Equatable {
        var address: [UInt8]
        var prefix: Int
    }

    var networks: [Network]
    /// Entries that are not an address or CIDR network: the field then matches nothing of theirs (fail closed).
    var invalid: [String]

    init(_ text: String) {
        var networks: [Network] = []
        var invalid: [String] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            let parts = item.split(separator: "/", maxSplits: 1)
            guard let address = Self.bytes(String(parts[0])) else { invalid.append(String(item)); continue }
            let bits = address.count * 8
            let prefix = parts.count == 2 ? Int(parts[1]) : bits
            guard let prefix, prefix >= 0, prefix <= bits else { invalid.append(String(item)); continue }
            networks.append(Network(address: address, prefix: prefix))
        }
        self.networks = networks
        self.invalid = invalid
    }

    /// Whether `ip` (as the connection reports it; IPv4-mapped IPv6 counts as IPv4) is in one of the networks.
    func contains(_ ip: String) -> Bool {
        guard var address = Self.bytes(ip) else { return false }
        if address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF {
            address = Array(address[12...])
        }
        return networks.contains { network in
            guard network.address.count == address.count else { return false }
            var remaining = network.prefix
            for (a, b) in zip(network.address, address) where remaining > 0 {
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if a & mask != b & mask { return false }
                remaining -= 8
            }
            return true
        }
    }

    /// 4 bytes for IPv4, 16 for IPv6 (brackets and a zone index are dropped); nil for anything else.
    static func bytes(_ text: String) -> [UInt8]? {
        var s = text
        if s.hasPrefix("["), s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let percent = s.firstIndex(of: "%") { s = String(s[..<percent]) }
        guard s.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, s, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
