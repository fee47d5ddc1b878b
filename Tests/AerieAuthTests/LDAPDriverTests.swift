import AerieCore
@testable import AerieAuth
import AerieLDAP
import AerieTestSupport
import Testing

/// The `ldap` passdb/userdb as drivers of the auth engine, without a server (tests/integration/test_ldap.py and
/// test_ldap_ad.py run slapd and Samba).
@Suite struct LDAPDriverTests {
    /// Nothing listens on loopback port 1: connections are refused at once, as when slapd is stopped.
    static let section = [
        "ldap_uris": "ldap://127.0.0.1:1", "ldap_auth_dn": "cn=dovecot,dc=example,dc=com",
        "ldap_auth_dn_password": "service-Secret-9", "ldap_base": "dc=example,dc=com", "ldap_filter": "(uid=%{user})",
    ]

    func configuration(bind: Bool, userdb: Bool) -> AuthServiceConfiguration {
        var section = Self.section
        if bind { section["ldap_bind"] = "yes" }
        var passdb = PassDBSpec(name: "ldap", driver: "ldap", path: "")
        passdb.options = LDAPDatabase.Settings.options(
            section: section, fields: ["password": "%{ldap:userPassword}"], global: { _ in nil })
        var spec = UserDBSpec(name: "ldap", driver: "ldap", path: "")
        spec.options = LDAPDatabase.Settings.options(
            section: Self.section, fields: ["home": "%{ldap:homeDirectory}"], global: { _ in nil })
        var configuration = AuthServiceConfiguration(
            passdbs: [passdb], userdbs: userdb ? [spec] : [], defaultUID: 1000, defaultGID: 1000)
        configuration.penalty.failureDelay = .zero
        return configuration
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func aDirectoryThatIsDownIsATemporaryFailure(bind: Bool, userdb: Bool) async throws {
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 1)
        let workers = LDAPWorkers(threads: 1)
        let auth = try AuthService(
            configuration: configuration(bind: bind, userdb: userdb), log: log, pool: pool,
            registry: .withLDAP(workers: workers))
        let result = await auth.authenticate(AuthRequest(user: "alice", password: "Alice-pw-1", remoteIP: "192.0.2.1"))
        #expect(result == .failure(.temporaryFailure))
        let text = log.lines.map(\.message).joined(separator: "\n")
        #expect(text.contains("ldap(alice,192.0.2.1): LDAP search failed"), "\(text)")
        #expect(!text.contains("service-Secret-9") && !text.contains("Alice-pw-1"))
        #expect(!text.contains("Password mismatch") && !text.contains("unknown user"), "\(text)")
        // Userdb lookups (LMTP) answer "try later" too, never "no such user".
        #expect(await auth.lookup("alice") == .failure(.temporaryFailure))
        await pool.shutdown()
        await workers.shutdown()
    }

    /// Directory calls run on the LDAP threads: with the hashing pool stopped, the directory is still asked.
    @Test func directoryCallsDoNotUseTheHashingPool() async throws {
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 1)
        await pool.shutdown()
        let workers = LDAPWorkers(threads: 1)
        let auth = try AuthService(
            configuration: configuration(bind: false, userdb: true), log: log, pool: pool,
            registry: .withLDAP(workers: workers))
        #expect(await auth.lookup("alice") == .failure(.temporaryFailure))
        let text = log.lines.map(\.message).joined(separator: "\n")
        #expect(text.contains("LDAP search failed"), "\(text)")
        await workers.shutdown()
    }

    @Test func theRegistryMakesTheDriversAndRefusesBadSettings() async throws {
        let pool = PasswordHashingPool(threads: 1)
        let workers = LDAPWorkers(threads: 1)
        #expect(throws: AuthServiceError.unsupportedDriver("ldap")) {
            try AuthService(configuration: configuration(bind: false, userdb: true), log: DiscardingLogSink(),
                            pool: pool)
        }
        try AuthService.validate(configuration(bind: false, userdb: true), registry: .withLDAP(workers: workers))
        var bad = configuration(bind: false, userdb: false)
        bad.passdbs[0].options["ldap_uris"] = "ldap.example.com"
        #expect(throws: AuthServiceError.invalidDriverSettings(
            "passdb ldap: ldap_uris: ldap.example.com is not an ldap://, ldaps:// or ldapi:// URI")) {
            try AuthService(configuration: bad, log: DiscardingLogSink(), pool: pool,
                            registry: .withLDAP(workers: workers))
        }
        await pool.shutdown()
        await workers.shutdown()
    }

    @Test func optionsCarryTheSectionOverTheGlobalSettingsAndTheFields() throws {
        let global = ["ldap_uris": "ldap://global", "ldap_base": "dc=global", "ldap_filter": "(global=%{user})",
                      "ssl_client_require_valid_cert": "no"]
        let options = LDAPDatabase.Settings.options(
            section: ["ldap_base": "dc=section", "ldap_filter": "(uid=%{user})", "ldap_bind": "yes"],
            fields: ["password": "%{ldap:userPassword}"], global: { global[$0] })
        let passdb = LDAPDatabase.Settings(options: options, isPassdb: true)
        #expect(passdb.connection.uris == ["ldap://global"] && passdb.base == "dc=section")
        #expect(passdb.filter == "(uid=%{user})" && passdb.bind && !passdb.connection.requireValidCertificate)
        #expect(passdb.fields == ["password": "%{ldap:userPassword}"])
        // The filter is the section's own; a userdb never binds.
        let userdb = LDAPDatabase.Settings(
            options: LDAPDatabase.Settings.options(section: [:], fields: [:], global: { global[$0] }), isPassdb: false)
        #expect(userdb.filter == "" && !userdb.bind)
    }

    /// A userdb's `iterate_fields { }` reach the driver apart from its `fields { }` (they are not looked up per user).
    @Test func iterateSettingsAreAUserdbsOwn() {
        let options = LDAPDatabase.Settings.options(
            section: ["ldap_uris": "ldap://h", "ldap_filter": "(uid=%{user})", "ldap_iterate_filter": "(uid=*)"],
            fields: ["home": "%{ldap:homeDirectory}", "iterate_fields/user": "%{ldap:uid}"], global: { _ in nil })
        let userdb = LDAPDatabase.Settings(options: options, isPassdb: false)
        #expect(userdb.fields == ["home": "%{ldap:homeDirectory}"])
        #expect(userdb.iterateFields == ["user": "%{ldap:uid}"] && userdb.iterateFilter == "(uid=*)")
        let passdb = LDAPDatabase.Settings(options: options, isPassdb: true)
        #expect(passdb.iterateFields.isEmpty && passdb.iterateFilter.isEmpty)
    }

    @Test func configurationIsCheckedAtStart() {
        #expect(throws: LDAPDatabase.ConfigurationError.noURIs) {
            try LDAPDatabase(settings: .init(connection: .init(uris: []), base: "", filter: "(uid=%{user})"))
        }
        #expect(throws: LDAPDatabase.ConfigurationError.noFilter) {
            try LDAPDatabase.check(options: ["ldap_uris": "ldap://127.0.0.1:1"], isPassdb: true)
        }
        #expect(throws: LDAPDatabase.ConfigurationError.invalidTemplate("(uid=%{usr})")) {
            try LDAPDatabase.check(options: ["ldap_uris": "ldap://h", "ldap_filter": "(uid=%{usr})"], isPassdb: true)
        }
        // Bind with a DN template needs no filter.
        #expect(throws: Never.self) {
            try LDAPDatabase.check(
                options: ["ldap_uris": "ldap://h", "ldap_bind": "yes", "ldap_bind_userdn": "uid=%{user},dc=example"],
                isPassdb: true)
        }
    }

    @Test func aDisabledADAccountGetsNologinAndThePasswordIsTheStoredHash() {
        let entry = LDAPPassDB.entry(["password": "{SSHA512}x", "userdb_home": "/h"], disabled: true)
        #expect(entry.password == "{SSHA512}x")
        #expect(entry.fields["nologin"] == "" && entry.fields["userdb_home"] == "/h" && entry.fields["password"] == nil)
        #expect(LDAPPassDB.entry([:], disabled: false) == PassDBEntry(password: nil, fields: [:]))
    }
}
