@testable import AerieLDAP
import Testing

@Suite struct LDAPEscapingTests {
    @Test func filterValueEscapesTheRFC4515Specials() {
        #expect(LDAPEscaping.filterValue("*)(uid=*") == "\\2a\\29\\28uid=\\2a")
        #expect(LDAPEscaping.filterValue("a\\b") == "a\\5cb")
        #expect(LDAPEscaping.filterValue("nul\u{0}x") == "nul\\00x")
        #expect(LDAPEscaping.filterValue("tab\t") == "tab\\09")
        #expect(LDAPEscaping.filterValue("jöhn@example.com") == "jöhn@example.com")
    }

    @Test func anInjectedFilterStaysOneAssertion() throws {
        let filter = try LDAPTemplate.expand(
            "(&(objectClass=posixAccount)(uid=%{user}))", user: "*)(uid=*", escape: LDAPEscaping.filterValue)
        #expect(filter == "(&(objectClass=posixAccount)(uid=\\2a\\29\\28uid=\\2a))")
        // Every parenthesis left is one the template wrote.
        #expect(filter.filter { $0 == "(" }.count == 3)
    }

    @Test func dnValueEscapesTheRFC4514Specials() {
        #expect(LDAPEscaping.dnValue("a,b+c") == "a\\2cb\\2bc")
        #expect(LDAPEscaping.dnValue("x=y;z<>\"\\") == "x\\3dy\\3bz\\3c\\3e\\22\\5c")
        #expect(LDAPEscaping.dnValue("#lead") == "\\23lead")
        #expect(LDAPEscaping.dnValue("in#side") == "in#side")
        #expect(LDAPEscaping.dnValue(" both ") == "\\20both\\20")
        #expect(LDAPEscaping.dnValue("mid dle") == "mid dle")
        #expect(LDAPEscaping.dnValue("alice") == "alice")
    }

    @Test func aBindDNTemplateCannotGainAComponent() throws {
        let dn = try LDAPTemplate.expand(
            "uid=%{user | username},ou=people,dc=example,dc=com", user: "x,ou=admins@example.com",
            escape: LDAPEscaping.dnValue)
        #expect(dn == "uid=x\\2cou\\3dadmins,ou=people,dc=example,dc=com")
    }
}

@Suite struct LDAPTemplateTests {
    @Test func userVariablesAsDovecot24WritesThem() throws {
        let user = "Alice@Example.com"
        #expect(try LDAPTemplate.expand("%{user}", user: user) == "Alice@Example.com")
        #expect(try LDAPTemplate.expand("%{user | username}", user: user) == "Alice")
        #expect(try LDAPTemplate.expand("%{user|domain}", user: user) == "Example.com")
        #expect(try LDAPTemplate.expand("%{user | username | lower}", user: user) == "alice")
        #expect(try LDAPTemplate.expand("%{username}/%{domain}", user: user) == "Alice/Example.com")
        #expect(try LDAPTemplate.expand("%u %n %d 100%%", user: user) == "Alice@Example.com Alice Example.com 100%")
        #expect(try LDAPTemplate.expand("%{user | domain}", user: "nodomain") == "")
    }

    @Test func unknownVariablesAndFiltersAreErrors() {
        #expect(throws: LDAPTemplate.ExpansionError.unknownVariable("%{home}")) {
            try LDAPTemplate.expand("%{home}", user: "a")
        }
        #expect(throws: LDAPTemplate.ExpansionError.unknownVariable("%{user | md5}")) {
            try LDAPTemplate.expand("%{user | md5}", user: "a")
        }
        #expect(throws: LDAPTemplate.ExpansionError.unknownVariable("%x")) { try LDAPTemplate.expand("%x", user: "a") }
        #expect(throws: LDAPTemplate.ExpansionError.unknownVariable("%")) { try LDAPTemplate.expand("50%", user: "a") }
        // %{ldap:…} means nothing in a filter.
        #expect(throws: LDAPTemplate.ExpansionError.self) {
            try LDAPTemplate.validate("(uid=%{ldap:uid})", allowAttributes: false)
        }
        #expect(throws: Never.self) { try LDAPTemplate.validate("%{ldap:homeDirectory}", allowAttributes: true) }
    }

    @Test func activeDirectoryLoginFilters() throws {
        let filter = "(&(objectClass=user)(|(sAMAccountName=%{user | username})(userPrincipalName=%{user})))"
        let expanded = try LDAPTemplate.expand(filter, user: "bob@ad.example", escape: LDAPEscaping.filterValue)
        #expect(expanded == "(&(objectClass=user)(|(sAMAccountName=bob)(userPrincipalName=bob@ad.example)))")
    }

    @Test func userValuesAreEscapedButAttributeValuesAreNot() throws {
        let entry = LDAPEntry(dn: "uid=a,dc=x", attributes: ["mailHome": ["/srv/(a)"]])
        let out = try LDAPTemplate.expand(
            "%{ldap:mailhome}:%{user}", user: "(b)", attributes: entry, escape: LDAPEscaping.filterValue)
        #expect(out == "/srv/(a):\\28b\\29")
    }
}

@Suite struct LDAPFieldMappingTests {
    let entry = LDAPEntry(
        dn: "uid=alice,ou=people,dc=example,dc=com",
        attributes: [
            "uid": ["alice"], "userPassword": ["{SSHA}abc"], "uidNumber": ["1001"], "homeDirectory": ["/home/alice"],
            "mail": ["alice@example.com", "a@example.com"],
        ])

    @Test func fieldsTakeTheFirstValueOfEachAttribute() {
        let mapping = LDAPFieldMapping([
            "user": "%{ldap:uid}", "password": "%{ldap:userPassword}", "userdb_uid": "%{ldap:uidNumber}",
            "userdb_home": "%{ldap:homeDirectory}/Maildir", "mail": "%{ldap:mail}", "dn": "%{ldap:dn}",
            "quota_rule": "*:storage=%{ldap:quota}M",
        ])
        #expect(
            mapping.attributeNames.sorted() == ["homedirectory", "mail", "quota", "uid", "uidnumber", "userpassword"])
        let (fields, missing) = mapping.map(entry, user: "alice")
        #expect(fields["user"] == "alice")
        #expect(fields["password"] == "{SSHA}abc")
        #expect(fields["userdb_uid"] == "1001")
        #expect(fields["userdb_home"] == "/home/alice/Maildir")
        #expect(fields["mail"] == "alice@example.com")
        #expect(fields["dn"] == "uid=alice,ou=people,dc=example,dc=com")
        #expect(fields["quota_rule"] == nil)
        #expect(missing == ["quota_rule"])
    }

    @Test func userVariablesInFieldsAreNotEscaped() {
        let (fields, _) = LDAPFieldMapping(["home": "/var/vmail/%{user | domain}/%{user | username}"])
            .map(entry, user: "a+b@example.com")
        #expect(fields["home"] == "/var/vmail/example.com/a+b")
    }
}

@Suite struct ActiveDirectoryTests {
    @Test func accountDisableBitRefuses() {
        #expect(ActiveDirectory.isDisabled(userAccountControl: "514"))  // NORMAL_ACCOUNT | ACCOUNTDISABLE
        #expect(ActiveDirectory.isDisabled(userAccountControl: "66050"))  // + DONT_EXPIRE_PASSWORD
        #expect(!ActiveDirectory.isDisabled(userAccountControl: "512"))
        #expect(!ActiveDirectory.isDisabled(userAccountControl: "66048"))
        #expect(!ActiveDirectory.isDisabled(userAccountControl: "-2147483136"))  // high bit set, 0x2 clear
        #expect(ActiveDirectory.isDisabled(userAccountControl: "garbage"))  // fail closed
    }
}

@Suite struct LDAPClientTests {
    /// Nothing listens on port 1 of loopback: the connection is refused at once, as when slapd is stopped.
    let refused = LDAPConnectionSettings(
        uris: ["ldap://127.0.0.1:1"], networkTimeout: .seconds(2), operationTimeout: .seconds(2))

    @Test func aStoppedServerIsAConnectionProblemNotAHang() {
        let client = LDAPClient(settings: refused)
        // LDAP_SERVER_DOWN (-1), the refusal itself: not LDAP_TIMEOUT (-5) or a connect timeout (-11), which a
        // connection left hanging would give (no wall-clock bound, which a loaded machine can exceed).
        #expect {
            try client.withConnection { connection throws(LDAPError) in
                try connection.search(base: "dc=x", filter: "(uid=a)", attributes: [])
            }
        } throws: { error in
            (error as? LDAPError)?.isConnectionProblem == true && (error as? LDAPError)?.isServerDown == true
        }
        #expect(client.idleCount == 0)
    }

    @Test func workersRunOffTheCallerAndReportTheFailure() async {
        let workers = LDAPWorkers(threads: 1)
        let client = LDAPClient(settings: refused)
        await #expect(throws: LDAPError.self) {
            try await workers.run(client) { connection throws(LDAPError) in
                try connection.search(base: "dc=x", filter: "(uid=a)", attributes: []).count
            }
        }
        await workers.shutdown()
    }

    @Test func emptyPasswordNeverReachesTheServer() throws {
        let connection = try LDAPConnection(settings: refused)
        // A connection attempt would fail with a connection problem instead of invalidCredentials.
        #expect(throws: LDAPError(code: 49, message: "empty password refused (unauthenticated bind)")) {
            try connection.bind(dn: "uid=alice,dc=example,dc=com", password: "")
        }
    }

    @Test func settingsNoticeTLS() {
        #expect(LDAPConnectionSettings(uris: ["ldaps://h"]).usesTLS)
        #expect(LDAPConnectionSettings(uris: ["ldap://h"], startTLS: true).usesTLS)
        #expect(!LDAPConnectionSettings(uris: ["ldap://h"]).usesTLS)
    }
}
