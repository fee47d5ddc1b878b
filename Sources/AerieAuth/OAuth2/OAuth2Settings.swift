/// Dovecot 2.4's `oauth2 { }` settings, as the OAUTHBEARER and XOAUTH2 mechanisms use them.
public struct OAuth2Settings: Sendable, Equatable {
    public enum Mode: String, Sendable, Equatable {
        /// JWTs checked against the issuer's keys (JWKS from `openid_configuration_url`); opaque tokens go to
        /// `introspection_url` when one is set.
        case local
        /// Every token goes to `introspection_url` (RFC 7662 §2.1: POST `token=`).
        case post
    }

    public var mode: Mode
    public var introspectionURL: String
    public var openIDConfigurationURL: String
    /// Accepted `iss` values; empty: the one the OpenID configuration names (local mode), or any (introspection).
    public var issuers: [String]
    /// Must be among `aud`; with `clientSecret`, the introspection client's credentials (RFC 7662 §2.1).
    public var clientID: String
    public var clientSecret: String
    /// Every one of these must be in the token's `scope`.
    public var scope: [String]
    /// The claim that holds the user name.
    public var usernameAttribute: String
    /// When set, this claim must be present (and equal `activeValue` when that is set).
    public var activeAttribute: String
    public var activeValue: String
    /// How long past `exp` a token is still taken (Dovecot's `token_expire_grace`).
    public var expireGrace: Duration
    /// PEM of the CAs trusted for the issuer's HTTPS (`ssl_client_ca_file`); empty: the system's.
    public var trustedCAPEM: String

    public init(
        mode: Mode, introspectionURL: String = "", openIDConfigurationURL: String = "", issuers: [String] = [],
        clientID: String = "", clientSecret: String = "", scope: [String] = [], usernameAttribute: String = "email",
        activeAttribute: String = "", activeValue: String = "", expireGrace: Duration = .seconds(60),
        trustedCAPEM: String = ""
    ) {
        self.mode = mode
        self.introspectionURL = introspectionURL
        self.openIDConfigurationURL = openIDConfigurationURL
        self.issuers = issuers
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.usernameAttribute = usernameAttribute
        self.activeAttribute = activeAttribute
        self.activeValue = activeValue
        self.expireGrace = expireGrace
        self.trustedCAPEM = trustedCAPEM
    }

    /// `file:///absolute/path`: the issuer's keys (RFC 7517 JWKS) from a local file, read again as a URL would be.
    func isFileURL(_ url: String) -> Bool { url.hasPrefix("file:///") }

    /// What the server refuses at start and `aerie conf check` reports.
    public func validate() throws(OAuth2ConfigurationError) {
        for url in [introspectionURL, openIDConfigurationURL] where !url.isEmpty {
            // A JWKS may also be a local file (`file:///etc/aerie/issuer-jwks.json`), as the issue asks.
            guard url.lowercased().hasPrefix("https://") || (url == openIDConfigurationURL && isFileURL(url)) else {
                throw OAuth2ConfigurationError("\(url): the issuer is reached over HTTPS only (or a file:/// JWKS)")
            }
        }
        if isFileURL(openIDConfigurationURL) && issuers.isEmpty {
            throw OAuth2ConfigurationError("a file:/// JWKS names no issuer: set oauth2_issuers")
        }
        switch mode {
        case .local where openIDConfigurationURL.isEmpty:
            throw OAuth2ConfigurationError(
                "oauth2_introspection_mode = local needs oauth2_openid_configuration_url (where the issuer's keys are)")
        case .post where introspectionURL.isEmpty:
            throw OAuth2ConfigurationError("oauth2_introspection_mode = post needs oauth2_introspection_url")
        default: break
        }
        if clientID.isEmpty != clientSecret.isEmpty && !clientSecret.isEmpty {
            throw OAuth2ConfigurationError("oauth2_client_secret needs oauth2_client_id")
        }
        if activeAttribute.isEmpty && !activeValue.isEmpty {
            throw OAuth2ConfigurationError("oauth2_active_value needs oauth2_active_attribute")
        }
        if usernameAttribute.isEmpty { throw OAuth2ConfigurationError("oauth2_username_attribute is empty") }
    }
}

public struct OAuth2ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
