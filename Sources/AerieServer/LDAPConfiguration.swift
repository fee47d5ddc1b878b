import AerieAuth
import AerieConfig
import AerieLDAP

extension AerieServer {
    /// An `ldap` passdb/userdb from its section's settings over the global `ldap_*` / `ssl_client_*` ones.
    static func ldapDatabase(
        kind: String, name: String, section: [String: String], fields: [String: String], settings: AerieSettings
    ) throws -> LDAPDatabase {
        func value(_ key: String) -> String { section[key] ?? settings.value(forKey: key) ?? "" }
        let uris = value("ldap_uris").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        let connection = LDAPConnectionSettings(
            uris: uris, authDN: value("ldap_auth_dn"), authPassword: value("ldap_auth_dn_password"),
            startTLS: value("ldap_starttls") == "yes", caFile: value("ssl_client_ca_file"),
            requireValidCertificate: value("ssl_client_require_valid_cert") != "no",
            scope: LDAPConnectionSettings.Scope(rawValue: value("ldap_scope")) ?? .subtree,
            deref: LDAPConnectionSettings.Deref(rawValue: value("ldap_deref")) ?? .never)
        let database = LDAPDatabase.Settings(
            connection: connection, base: value("ldap_base"), filter: section["ldap_filter"] ?? "",
            bind: section["ldap_bind"] == "yes", bindUserDN: section["ldap_bind_userdn"] ?? "", fields: fields,
            isPassdb: kind == "passdb")
        do { return try LDAPDatabase(settings: database) } catch {
            throw ServerStartError("\(kind) \(name): \(error)")
        }
    }
}
