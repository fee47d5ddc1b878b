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
        #expect(loaded.warnings.contains { $0.description.contains("iterate_query") })
        // The dump hides the database password.
        #expect(!Dump.render(s, nonDefaultOnly: false).contains("secret"))
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
