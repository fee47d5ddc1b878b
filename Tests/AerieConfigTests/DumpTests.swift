import Testing
@testable import AerieConfig

@Suite struct DumpTests {
    @Test func nonDefaultDumpListsOnlyChanges() throws {
        let c = try #require(loadSyntaxOK("""
            auth_mechanisms = plain login
            ssl = required
            login_greeting = "Mail # ready "
            passdb passwd-file {
              passwd_file_path = /etc/users
            }
            service imap-login {
              inet_listener imaps {
                port = 1993
              }
            }
            protocol imap {
              imap_max_line_length = 1M
            }
            """))
        #expect(c.dump(nonDefaultOnly: true) == """
            auth_mechanisms = plain login
            login_greeting = "Mail # ready "
            passdb passwd-file {
              passwd_file_path = /etc/users
            }
            service imap-login {
              inet_listener imaps {
                port = 1993
              }
            }
            protocol imap {
              imap_max_line_length = 1M
            }

            """)
    }

    @Test func fullDumpReloadsToTheSameSettings() throws {
        let full = ConfigLoader.defaults().dump(nonDefaultOnly: false)
        #expect(full.contains("ssl = required\n"))
        #expect(full.contains("log_timestamp = \"%b %d %H:%M:%S \"\n"))
        #expect(full.contains("listen = *, ::\n"))
        #expect(full.contains("auth_failure_delay = 2 secs\n"))
        #expect(!full.contains("auth_debug ="))  // removed in 2.4, not advertised
        let again = try #require(loadSyntaxOK(full))
        #expect(again.warnings.isEmpty)
        #expect(again.settings.store == ConfigLoader.defaults().settings.store)
        #expect(again.settings.services.map(\.name) == ["imap-login", "pop3-login"])
    }

    @Test func mailboxNamesWithSpacesAreQuoted() throws {
        let c = try #require(loadSyntaxOK("namespace inbox {\n  mailbox \"Sent Messages\" {\n    auto = create\n  }\n}\n"))
        #expect(c.dump(nonDefaultOnly: true).contains("  mailbox \"Sent Messages\" {\n    auto = create\n  }\n"))
    }
}

@Suite struct ModeDumpTests {
    @Test func socketModesPrintInOctalAsWritten() throws {
        let loaded = try ConfigLoader.load(
            text: "service lmtp {\n  unix_listener lmtp {\n    mode = 0660\n  }\n}\n", path: "/nonexistent/mode.conf")
        #expect(loaded.dump(nonDefaultOnly: true).contains("mode = 0660"))
        #expect(loaded.settings.service(named: "lmtp")?.unixListeners.first?.mode == 0o660)
    }
}
