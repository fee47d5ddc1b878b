@testable import AerieConfig
import Testing

/// Dovecot 2.4's LDAP settings: global `ldap_*`, per-section `passdb_ldap_*` / `userdb_ldap_*`, `fields { }`.
@Suite struct LDAPConfigTests {
    let f = "/nonexistent/aerie.conf"

    @Test func aDovecot24LDAPConfigurationLoads() throws {
        let c = try #require(loadOK("""
            ldap_uris = ldaps://ldap1.example.com ldaps://ldap2.example.com
            ldap_auth_dn = cn=dovecot,dc=example,dc=com
            ldap_auth_dn_password = secret
            ldap_base = ou=people,dc=example,dc=com
            ldap_scope = onelevel
            ssl_client_require_valid_cert = yes
            passdb ldap {
              passdb_ldap_filter = (&(objectClass=posixAccount)(uid=%{user | username}))
              fields {
                password = %{ldap:userPassword}
              }
            }
            passdb ldap-bind {
              driver = ldap
              passdb_ldap_bind = yes
              passdb_ldap_bind_userdn = uid=%{user},ou=people,dc=example,dc=com
              ldap_base = ou=other,dc=example,dc=com
            }
            userdb ldap {
              userdb_ldap_filter = (uid=%{user})
              fields {
                home = %{ldap:homeDirectory}
                uid = %{ldap:uidNumber}
              }
            }
            """))
        #expect(c.settings.value(forKey: "ldap_uris") == "ldaps://ldap1.example.com ldaps://ldap2.example.com")
        #expect(c.settings.value(forKey: "ldap_scope") == "onelevel")
        let lookup = c.settings.passdbs[0], bind = c.settings.passdbs[1], userdb = c.settings.userdbs[0]
        #expect(lookup.driver == "ldap")
        #expect(lookup.ldap["ldap_filter"] == "(&(objectClass=posixAccount)(uid=%{user | username}))")
        #expect(lookup.fieldTemplates == ["password": "%{ldap:userPassword}"])
        #expect(bind.driver == "ldap" && bind.ldap["ldap_bind"] == "yes")
        #expect(bind.ldap["ldap_bind_userdn"] == "uid=%{user},ou=people,dc=example,dc=com")
        #expect(bind.ldap["ldap_base"] == "ou=other,dc=example,dc=com")  // the section's, over the global one
        #expect(userdb.ldap["ldap_filter"] == "(uid=%{user})")
        #expect(userdb.fieldTemplates == ["home": "%{ldap:homeDirectory}", "uid": "%{ldap:uidNumber}"])
        // An LDAP section's fields { } are its attribute mapping, read by the driver, not the engine's overrides.
        #expect(lookup.overrideFields.isEmpty && userdb.overrideFields.isEmpty)
        #expect(warningLines(c).isEmpty, "\(warningLines(c))")
        #expect(c.dump(nonDefaultOnly: true).contains("  fields {\n    home = %{ldap:homeDirectory}\n"))
    }

    /// Dovecot 2.4's userdb iteration: `userdb_ldap_iterate_filter` and `iterate_fields { }` (userdb ldap only).
    @Test func iterateFieldsAreKeptApartFromFields() throws {
        let c = try #require(loadOK("""
            ldap_uris = ldaps://ldap.example.com
            passdb ldap {
              passdb_ldap_filter = (uid=%{user})
            }
            userdb ldap {
              userdb_ldap_filter = (uid=%{user})
              userdb_ldap_iterate_filter = (objectClass=posixAccount)
              iterate_fields {
                user = %{ldap:uid}
              }
            }
            """))
        let userdb = c.settings.userdbs[0]
        #expect(userdb.ldap["ldap_iterate_filter"] == "(objectClass=posixAccount)")
        #expect(userdb.fieldTemplates == ["iterate_fields/user": "%{ldap:uid}"])
        #expect(warningLines(c).isEmpty, "\(warningLines(c))")
        let errors = loadErrors("""
            passdb ldap {
              passdb_ldap_filter = (uid=%{user})
              iterate_fields {
                user = %{ldap:uid}
              }
            }
            """)
        #expect(errors.contains { $0.contains("'iterate_fields' is not supported inside passdb") }, "\(errors)")
    }

    @Test func cleartextLDAPIsASecurityWarning() throws {
        let c = try #require(loadOK("""
            ldap_uris = ldap://ldap.example.com ldap://127.0.0.1:3890 ldaps://ldap2.example.com
            passdb ldap {
              passdb_ldap_filter = (uid=%{user})
            }
            userdb ldap {
              ldap_starttls = yes
              userdb_ldap_filter = (uid=%{user})
            }
            passdb tls-unchecked {
              driver = ldap
              ldap_uris = ldaps://ldap.example.com
              ssl_client_require_valid_cert = no
              passdb_ldap_filter = (uid=%{user})
            }
            """))
        let ldap = c.securityWarnings().filter { $0.lowercased().contains("ldap") }
        #expect(ldap == [
            "passdb ldap: ldap://ldap.example.com without ldap_starttls = yes: passwords cross the network in "
                + "cleartext (use ldaps:// or ldap_starttls = yes)",
            "passdb tls-unchecked: ssl_client_require_valid_cert = no: any certificate is accepted, so anyone on the "
                + "path can read LDAP passwords",
        ])
    }

    @Test func theBindPasswordIsNotDumped() throws {
        let c = try #require(loadOK("""
            ldap_auth_dn_password = Service-Secret-1
            passdb ldap {
              ldap_uris = ldap://a
              ldap_auth_dn_password = Section-Secret-2
              passdb_ldap_filter = (uid=%{user})
            }
            """))
        for nonDefaultOnly in [true, false] {
            let dump = c.dump(nonDefaultOnly: nonDefaultOnly)
            #expect(!dump.contains("Secret"), "\(dump)")
            #expect(dump.contains("ldap_auth_dn_password = # hidden"))
        }
    }

    @Test(arguments: [
        ("ldap_version = 2", "ldap_version", 1),
        ("ldap_auth_sasl_mechanisms = gssapi", "ldap_auth_sasl_mechanisms", 1),
    ] as [(String, String, Int)])
    func refusedLDAPSettings(text: String, what: String, line: Int) {
        let errors = loadErrors(text + "\n")
        #expect(errors.contains { $0.hasPrefix("\(f):\(line): \(what) is not supported by Aerie yet") }, "\(errors)")
    }
}
