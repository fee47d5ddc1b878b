import AerieCore
@testable import AerieAuth
import AerieLDAP
import AerieTestSupport
import Testing

/// The `ldap` driver's wiring into AuthService, without a server (tests/integration/test_ldap.py runs slapd).
@Suite struct LDAPDatabaseTests {
    /// Nothing listens on loopback port 1: connections are refused at once, as when slapd is stopped.
    static let down = LDAPConnectionSettings(
        uris: ["ldap://127.0.0.1:1"], authDN: "cn=dovecot,dc=example,dc=com", authPassword: "service-Secret-9",
        networkTimeout: .seconds(2), operationTimeout: .seconds(2))

    func service(bind: Bool, log: any LogSink) throws -> AuthService {
        let settings = LDAPDatabase.Settings(
            connection: Self.down, base: "dc=example,dc=com", filter: "(uid=%{user})", bind: bind,
            fields: ["password": "%{ldap:userPassword}"])
        var passdb = PassDBSpec(name: "ldap", driver: "ldap", path: "")
        passdb.ldap = try LDAPDatabase(settings: settings)
        var configuration = AuthServiceConfiguration(passdbs: [passdb], defaultUID: 1000, defaultGID: 1000)
        configuration.penalty.failureDelay = .zero
        return try AuthService(configuration: configuration, log: log, pool: PasswordHashingPool(threads: 1))
    }

    @Test(arguments: [false, true])
    func aDirectoryThatIsDownIsATemporaryFailure(bind: Bool) async throws {
        let log = CollectingLog()
        let auth = try service(bind: bind, log: log)
        let result = await auth.authenticate(AuthRequest(user: "alice", password: "Alice-pw-1", remoteIP: "192.0.2.1"))
        #expect(result == .failure(.temporaryFailure))
        let text = log.lines.map(\.message).joined(separator: "\n")
        #expect(text.contains("ldap(alice,192.0.2.1): LDAP search failed"), "\(text)")
        #expect(!text.contains("service-Secret-9") && !text.contains("Alice-pw-1"))
        // Userdb lookups (LMTP) answer "try later" too, never "no such user".
        #expect(await auth.lookup("alice") == .failure(.temporaryFailure))
    }

    @Test func configurationIsCheckedAtStart() {
        #expect(throws: LDAPDatabase.ConfigurationError.noURIs) {
            try LDAPDatabase(settings: .init(connection: .init(uris: []), base: "", filter: "(uid=%{user})"))
        }
        #expect(throws: LDAPDatabase.ConfigurationError.invalidURI("ldap.example.com")) {
            try LDAPDatabase(settings: .init(connection: .init(uris: ["ldap.example.com"]), base: "", filter: "(uid=%u)"))
        }
        #expect(throws: LDAPDatabase.ConfigurationError.noFilter) {
            try LDAPDatabase(settings: .init(connection: Self.down, base: "", filter: ""))
        }
        #expect(throws: LDAPDatabase.ConfigurationError.invalidTemplate("(uid=%{usr})")) {
            try LDAPDatabase(settings: .init(connection: Self.down, base: "", filter: "(uid=%{usr})"))
        }
        #expect(throws: LDAPDatabase.ConfigurationError.invalidTemplate("%{ldap:a | md5}")) {
            try LDAPDatabase(settings: .init(connection: Self.down, base: "", filter: "(uid=%u)",
                                             fields: ["x": "%{ldap:a | md5}"]))
        }
        // Bind with a DN template needs no filter.
        #expect(throws: Never.self) {
            try LDAPDatabase(settings: .init(connection: Self.down, base: "", filter: "", bind: true,
                                             bindUserDN: "uid=%{user},dc=example,dc=com"))
        }
    }

    @Test func aDisabledADAccountGetsNologin() {
        let entry = AuthService.ldapEntry("carol", ["password": "{SSHA512}x", "userdb_home": "/h"], disabled: true)
        #expect(entry.password == "{SSHA512}x")
        #expect(entry.extraFields["nologin"] == "" && entry.extraFields["userdb_home"] == "/h")
        #expect(AuthService.ldapEntry("dave", [:], disabled: false).extraFields["nologin"] == nil)
    }
}
