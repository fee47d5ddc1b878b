import AerieCore
import IMAPProtocol

extension IMAPSession {
    /// Dovecot's login proxies forward the client's addresses in the first pre-login ID (RFC 2971 fields
    /// `x-originating-ip`, `x-originating-port`, `x-connected-ip`, `x-connected-port`). They are believed only from
    /// `login_trusted_networks` and ignored from anyone else. False: a trusted client sent an unusable value.
    mutating func applyProxyFields(_ parameters: IDParameters?) -> Bool {
        guard context.trusted, let fields = parameters?.fields else { return true }
        var updated = context
        for field in fields {
            guard let value = field.value else { continue }
            switch field.name.lowercased() {
            case "x-originating-ip":
                guard let address = IPAddress(value) else { return false }
                updated.remoteIP = address.description
            case "x-connected-ip":
                guard let address = IPAddress(value) else { return false }
                updated.localIP = address.description
            case "x-originating-port":
                guard let port = Self.port(value) else { return false }
                updated.remotePort = port
            case "x-connected-port":
                guard let port = Self.port(value) else { return false }
                updated.localPort = port
            default:
                continue
            }
        }
        context = updated
        return true
    }

    /// Dovecot's net_str2port: 1–65535 in decimal.
    static func port(_ text: String) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int(text), (1...65535).contains(value)
        else { return nil }
        return value
    }
}
