import AerieAuth
import AerieConfig
import AerieLDAP

extension AerieServer {
    /// An `ldap` passdb/userdb's driver options: its section's settings over the global `ldap_*` /
    /// `ssl_client_*` ones, and its `fields { }`; what the driver would refuse is refused here, at start and by
    /// `aerie conf check`.
    static func ldapOptions(
        kind: String, name: String, section: [String: String], fields: [String: String], settings: AerieSettings
    ) throws -> [String: String] {
        let options = LDAPDatabase.Settings.options(section: section, fields: fields) { settings.value(forKey: $0) }
        do { try LDAPDatabase.check(options: options, isPassdb: kind == "passdb") } catch {
            throw ServerStartError("\(kind) \(name): \(error)")
        }
        return options
    }
}

extension AerieServer {
    /// The LDAP threads of this process: one bounded pool for every `ldap` passdb/userdb, apart from the
    /// password-hashing threads. Started at first use (a server without LDAP starts none).
    static let ldapWorkers = LDAPWorkers()
    /// The drivers the auth process serves with and `aerie conf check` validates against.
    static var authDrivers: AuthDriverRegistry {
        var registry = AuthDriverRegistry.withLDAP(workers: ldapWorkers)
        registry.addSQL()
        return registry
    }
}
