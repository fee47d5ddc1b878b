import AerieAuth
import AerieConfig
import Foundation
import NIOSSL

extension AerieServer {
    /// The `oauth2 { }` settings when `auth_mechanisms` offers OAUTHBEARER or XOAUTH2 (Dovecot 2.4's names);
    /// what the auth process would refuse is refused here, at start and by `aerie conf check`.
    static func oauth2Settings(_ settings: AerieSettings) throws -> OAuth2Settings? {
        let mechanisms = Set(settings.authMechanisms.map { $0.lowercased() })
        guard mechanisms.contains("oauthbearer") || mechanisms.contains("xoauth2") else { return nil }
        let text = { (key: String) in settings.value(forKey: "oauth2_" + key) ?? "" }
        let modeName = text("introspection_mode")
        guard let mode = OAuth2Settings.Mode(rawValue: modeName) else {
            throw ServerStartError(
                "oauth2_introspection_mode = \(modeName.isEmpty ? "(unset)" : modeName): Aerie checks tokens with "
                    + "local (JWTs against the issuer's keys) or post (RFC 7662 introspection)")
        }
        var oauth2 = OAuth2Settings(mode: mode)
        oauth2.introspectionURL = text("introspection_url")
        oauth2.openIDConfigurationURL = text("openid_configuration_url")
        oauth2.issuers = settings.list(forKey: "oauth2_issuers") ?? []
        oauth2.scope = settings.list(forKey: "oauth2_scope") ?? []
        oauth2.clientID = text("client_id")
        oauth2.clientSecret = text("client_secret")
        oauth2.usernameAttribute = settings.value(forKey: "oauth2_username_attribute") ?? "email"
        oauth2.activeAttribute = text("active_attribute")
        oauth2.activeValue = text("active_value")
        oauth2.expireGrace = settings.duration(forKey: "oauth2_token_expire_grace") ?? .seconds(60)
        let caFile = settings.value(forKey: "ssl_client_ca_file") ?? ""
        if !caFile.isEmpty {
            // Read now, before the auth process drops its privileges.
            guard let pem = try? String(contentsOfFile: caFile, encoding: .utf8) else {
                throw ServerStartError("ssl_client_ca_file \(caFile): cannot be read")
            }
            guard (try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))?.isEmpty == false else {
                throw ServerStartError("ssl_client_ca_file \(caFile): no PEM certificate in it")
            }
            oauth2.trustedCAPEM = pem
        }
        do { try oauth2.validate() } catch { throw ServerStartError("oauth2: \(error)") }
        return oauth2
    }
}
