public import SASL

/// A JSON value as found in a token's claims or an introspection answer.
public enum OAuth2JSON: Codable, Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([OAuth2JSON])
    case object([String: OAuth2JSON])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([OAuth2JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: OAuth2JSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// A claim compared as text (`active_value`, the user name): strings as they are, booleans and integers spelled.
    var text: String? {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .number(let value) where value == value.rounded() && abs(value) < 1e15: String(Int64(value))
        default: nil
        }
    }
}

/// Why a token is refused. Holds no part of the token, so it may be logged.
public struct OAuth2Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: OAuth2ErrorStatus
    public var description: String
    init(_ description: String, status: OAuth2ErrorStatus = .invalidToken) {
        self.status = status
        self.description = description
    }
}

/// The claim checks done on a verified JWT's payload or an introspection answer (RFC 7519 §4.1, RFC 7662 §2.2),
/// as Dovecot's oauth2-jwt.c does them: `exp` (with grace), `nbf` and `iat` (one second of leeway), `iss`,
/// `aud` against `client_id`, `scope`, `active_attribute`, and the user name claim.
public enum OAuth2ClaimCheck {
    /// Returns the user name the token is for. `login` is the name the client gave (empty: none). An
    /// introspection answer (`introspected`) needs no `exp` and no `aud`: the issuer vouched for the token to us,
    /// authenticated as `client_id` (RFC 7662 §2.2); an `aud` it does give must still name us.
    public static func check(
        _ claims: [String: OAuth2JSON], settings: OAuth2Settings, expectedIssuers: [String], login: String,
        now: Double, introspected: Bool = false
    ) throws(OAuth2Refusal) -> String {
        let requireExpiry = !introspected
        let exp = try time(claims, "exp")
        if requireExpiry && exp == nil { throw OAuth2Refusal("token has no 'exp' claim") }
        let grace = Double(settings.expireGrace.components.seconds)
        if let exp, exp < now - grace { throw OAuth2Refusal("token has expired") }
        if let nbf = try time(claims, "nbf"), nbf > now + 1 { throw OAuth2Refusal("token is not valid yet (nbf)") }
        if let iat = try time(claims, "iat"), iat > now + 1 { throw OAuth2Refusal("token is issued in the future") }
        if !expectedIssuers.isEmpty {
            guard case .string(let iss)? = claims["iss"] else { throw OAuth2Refusal("token has no 'iss' claim") }
            guard expectedIssuers.contains(iss) else {
                throw OAuth2Refusal("issuer '\(AuthLogFormat.sanitize(String(iss.prefix(128))))' is not allowed")
            }
        }
        if !settings.clientID.isEmpty, !introspected || claims["aud"] != nil {
            let audiences: [String] =
                switch claims["aud"] {
                case .string(let aud)?: [aud]
                case .array(let list)?: list.compactMap { if case .string(let s) = $0 { s } else { nil } }
                default: []
                }
            guard audiences.contains(settings.clientID) else {
                throw OAuth2Refusal("client_id not found in the token's 'aud' claim")
            }
        }
        if !settings.scope.isEmpty {
            let granted: Set<String> =
                switch claims["scope"] {
                case .string(let text)?: Set(text.split(separator: " ").map(String.init))
                case .array(let list)?: Set(list.compactMap(\.text))
                default: []
                }
            guard settings.scope.allSatisfy(granted.contains) else {
                throw OAuth2Refusal("the token lacks the configured scope", status: .insufficientScope)
            }
        }
        if !settings.activeAttribute.isEmpty {
            guard let value = claims[settings.activeAttribute], value != .null else {
                throw OAuth2Refusal("token has no '\(settings.activeAttribute)' claim")
            }
            if !settings.activeValue.isEmpty, value.text != settings.activeValue {
                throw OAuth2Refusal("token is not active ('\(settings.activeAttribute)')")
            }
        }
        guard let user = claims[settings.usernameAttribute]?.text, !user.isEmpty else {
            throw OAuth2Refusal("token has no '\(settings.usernameAttribute)' claim")
        }
        if !login.isEmpty && login != user {
            throw OAuth2Refusal("the token's '\(settings.usernameAttribute)' differs from the login name")
        }
        return user
    }

    private static func time(_ claims: [String: OAuth2JSON], _ name: String) throws(OAuth2Refusal) -> Double? {
        switch claims[name] {
        case nil, .null?: return nil
        case .number(let value)?: return value
        default: throw OAuth2Refusal("malformed '\(name)' claim")
        }
    }
}
