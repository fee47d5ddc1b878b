@testable import AerieConfig
import Testing

/// Dovecot 2.4's SQL settings: `sql_driver`, `pgsql HOST { parameters { } }`, `passdb sql { query }`,
/// `userdb sql { query iterate_query }`.
@Suite struct SQLConfigTests {
    let f = "/nonexistent/aerie.conf"

    @Test func aDovecot24SQLConfigurationLoads() throws {
        let loaded = try #require(loadOK("""
            sql_driver = pgsql
            pgsql db.example.com {
              parameters {
                dbname = mail
                user = dovecot
                password = secret
                sslmode = verify-full
                sslrootcert = /etc/ssl/db-ca.pem
              }
            }
            passdb sql {
              query = SELECT password FROM users WHERE userid = '%{user}'
            }
            userdb sql {
              query = SELECT home, uid, gid FROM users WHERE userid = '%{user | username}'
              iterate_query = SELECT userid AS user FROM users
            }
            """))
        let s = loaded.settings
        #expect(s.value(forKey: "sql_driver") == "pgsql")
        #expect(s.pgsql["pgsql_host"] == "db.example.com")
        #expect(s.pgsql["pgsql_parameter:dbname"] == "mail" && s.pgsql["pgsql_parameter:password"] == "secret")
        #expect(s.pgsql["pgsql_parameter:sslmode"] == "verify-full")
        #expect(s.passdbs.first?.driver == "sql")
        #expect(s.passdbs.first?.sql["query"] == "SELECT password FROM users WHERE userid = '%{user}'")
        #expect(s.userdbs.first?.sql["query"] == "SELECT home, uid, gid FROM users WHERE userid = '%{user | username}'")
        #expect(s.userdbs.first?.sql["iterate_query"] == "SELECT userid AS user FROM users")
        #expect(!loaded.warnings.contains { $0.description.contains("iterate_query") })
        // The dump hides the database password.
        #expect(!Dump.render(s, nonDefaultOnly: false).contains("= secret"))
    }

    @Test func aDatabaseOverTheNetworkWithoutACheckedCertificateIsAWarning() throws {
        func warnings(_ host: String, _ sslmode: String) throws -> [String] {
            let c = try #require(loadOK("""
                pgsql \(host) {
                  parameters {
                    \(sslmode.isEmpty ? "" : "sslmode = \(sslmode)")
                  }
                }
                passdb sql {
                  query = SELECT password FROM users WHERE userid = '%{user}'
                }
                """))
            return c.securityWarnings().filter { $0.hasPrefix("pgsql") }
        }
        #expect(try warnings("db.example.com", "require") == [
            "pgsql db.example.com: sslmode = require: the database's certificate is not checked, so anyone on the "
                + "path can read the database password and the users' password hashes (use sslmode = verify-full)",
        ])
        #expect(try warnings("db.example.com", "").count == 1)
        #expect(try warnings("db.example.com", "verify-full").isEmpty)
        #expect(try warnings("127.0.0.1", "").isEmpty)
        #expect(try warnings("localhost", "disable").isEmpty)
    }

    @Test func theLongNamesWork() throws {
        let loaded = try #require(loadOK("""
            passdb sql {
              passdb_sql_query = SELECT password FROM users WHERE userid = '%{user}'
            }
            userdb sql {
              userdb_sql_query = SELECT home FROM users WHERE userid = '%{user}'
            }
            """))
        #expect(loaded.settings.passdbs.first?.sql["query"] == "SELECT password FROM users WHERE userid = '%{user}'")
        #expect(loaded.settings.userdbs.first?.sql["query"] == "SELECT home FROM users WHERE userid = '%{user}'")
    }

    @Test func updateQueryLoadsAndTheDovecot23NamesAreRefusedWithAHint() throws {
        let loaded = try #require(loadOK("""
            passdb sql {
              query = SELECT password FROM users WHERE userid = '%{user}'
              passdb_sql_update_query = UPDATE users SET password = '%{password}' WHERE userid = '%{user}'
            }
            """))
        #expect(
            loaded.settings.passdbs.first?.sql["update_query"]
                == "UPDATE users SET password = '%{password}' WHERE userid = '%{user}'")
        let errors = loadErrors("""
            passdb sql {
              password_query = SELECT password FROM users WHERE userid = '%{user}'
            }
            userdb sql {
              user_query = SELECT home FROM users WHERE userid = '%{user}'
            }
            """)
        #expect(errors.contains { $0.contains("password_query") && $0.contains("Dovecot 2.4 calls it query") })
        #expect(errors.contains { $0.contains("user_query") && $0.contains("Dovecot 2.4 calls it query") })
    }

    @Test func onlyParametersGoInsideAPgsqlSection() {
        let errors = loadErrors("""
            pgsql localhost {
              dbname = mail
            }
            """ + "\n")
        #expect(errors.contains { $0.contains("pgsql { dbname } is not a setting") }, "\(errors)")
    }
}
