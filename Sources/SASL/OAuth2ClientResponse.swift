/// What an OAUTHBEARER (RFC 7628 §3.1) or XOAUTH2 client sends: a bearer token and, optionally, a user name.
/// `token` is a secret: never log or print it.
public struct OAuth2ClientResponse: Sendable, Equatable {
    /// The authorization identity (OAUTHBEARER `a=`, XOAUTH2 `user=`); empty when the client named none.
    public var user: String
    public var token: String

    public init(user: String, token: String) {
        self.user = user
        self.token = token
    }

    /// RFC 7628 §3.2.3: the single %x01 an OAUTHBEARER client sends to end an exchange after an error challenge
    /// (XOAUTH2 clients send an empty response).
    public static func isDummy(_ message: [UInt8]) -> Bool { message == [0x01] || message.isEmpty }

    /// RFC 7628 §3.1:
    /// client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep
    /// gs2-header  = gs2-cb-flag "," [ authzid ] ","   ; gs2-cb-flag "n" or "y" (no channel binding)
    /// kvpair      = key "=" value kvsep ; auth = "auth=" "Bearer" 1*SP b64token
    public static func parseOAuthBearer(_ message: [UInt8]) throws(SASLFailure) -> OAuth2ClientResponse {
        guard let text = String(validating: message, as: UTF8.self), !text.contains("\0") else { throw .malformed }
        let sections = text.split(separator: "\u{01}", omittingEmptySubsequences: false)
        // gs2-header, the pairs, and two empty fields from the closing kvsep kvsep.
        guard sections.count >= 3, sections[sections.count - 1].isEmpty, sections[sections.count - 2].isEmpty
        else { throw .malformed }
        let header = sections[0].split(separator: ",", omittingEmptySubsequences: false)
        guard header.count == 3, header[0] == "n" || header[0] == "y", header[2].isEmpty else { throw .malformed }
        var user = ""
        if !header[1].isEmpty {
            guard header[1].hasPrefix("a="), let name = saslName(header[1].dropFirst(2)) else { throw .malformed }
            user = name
        }
        let token = try bearerToken(in: sections.dropFirst().dropLast(2))
        return OAuth2ClientResponse(user: user, token: token)
    }

    /// Google's XOAUTH2: "user=" user %x01 "auth=Bearer " token %x01 %x01.
    public static func parseXOAuth2(_ message: [UInt8]) throws(SASLFailure) -> OAuth2ClientResponse {
        guard let text = String(validating: message, as: UTF8.self), !text.contains("\0") else { throw .malformed }
        let sections = text.split(separator: "\u{01}", omittingEmptySubsequences: false)
        guard sections.count >= 3, sections[sections.count - 1].isEmpty, sections[sections.count - 2].isEmpty
        else { throw .malformed }
        let pairs = sections.dropLast(2)
        guard let userPair = pairs.first(where: { $0.hasPrefix("user=") }) else { throw .malformed }
        let token = try bearerToken(in: pairs.filter { !$0.hasPrefix("user=") })
        return OAuth2ClientResponse(user: String(userPair.dropFirst(5)), token: token)
    }

    /// The one `auth=Bearer TOKEN` pair (RFC 6750 §2.1: the scheme is case-insensitive; b64token characters only).
    private static func bearerToken(in pairs: some Collection<Substring>) throws(SASLFailure) -> String {
        let auths = pairs.filter { $0.hasPrefix("auth=") }
        guard auths.count == 1, let auth = auths.first else { throw .malformed }
        let value = auth.dropFirst(5)
        guard value.count > 7, value.prefix(7).lowercased() == "bearer " else { throw .malformed }
        let token = value.dropFirst(7).drop(while: { $0 == " " })
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=")
        guard !token.isEmpty, token.allSatisfy(allowed.contains) else { throw .malformed }
        return String(token)
    }

    /// RFC 5801 §4 saslname: "=2C" is ",", "=3D" is "=", no other "=".
    private static func saslName(_ text: Substring) -> String? {
        var out = ""
        var rest = text[...]
        while let index = rest.firstIndex(of: "=") {
            out += rest[..<index]
            let escape = rest[index...].prefix(3)
            switch escape {
            case "=2C": out += ","
            case "=3D": out += "="
            default: return nil
            }
            rest = rest[index...].dropFirst(3)
        }
        return out + rest
    }
}

/// RFC 7628 §3.2.2: the error a server sends as its challenge when a token is refused; XOAUTH2 sends HTTP-style
/// status codes instead (Google's and Dovecot's format).
public enum OAuth2ErrorStatus: String, Sendable, Equatable {
    case invalidToken = "invalid_token"
    case insufficientScope = "insufficient_scope"
    case invalidRequest = "invalid_request"

    public func challenge(xoauth2: Bool, scope: String, openIDConfiguration: String) -> [UInt8] {
        var fields: [(String, String)] = []
        if xoauth2 {
            let code =
                switch self {
                case .invalidToken: "401"
                case .insufficientScope: "403"
                case .invalidRequest: "400"
                }
            fields = [("status", code), ("schemes", "bearer")]
        } else {
            fields = [("status", rawValue)]
        }
        fields.append(("scope", scope.isEmpty ? "mail" : scope))
        if !openIDConfiguration.isEmpty { fields.append(("openid-configuration", openIDConfiguration)) }
        let body = fields.map { "\"\($0.0)\":\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        return Array("{\(body)}".utf8)
    }

    private static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
