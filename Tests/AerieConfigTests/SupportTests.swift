import Testing
@testable import AerieConfig

/// Issue 15: every setting Aerie accepts is enforced, or refused, or warned about with the reason.
@Suite struct SupportTests {
    let f = "/nonexistent/aerie.conf"

    @Test func everyDefinedSettingIsClassified() {
        let scopes: [(String, SettingTable, [String: SettingSupport])] = [
            ("global", Registry.global, Support.global), ("service", Registry.service, Support.service),
            ("inet_listener", Registry.inetListener, Support.inetListener),
            ("unix_listener", Registry.unixListener, Support.unixListener), ("passdb", Registry.passdb, Support.passdb),
            ("userdb", Registry.userdb, Support.userdb), ("namespace", Registry.namespace, Support.namespace),
            ("mailbox", Registry.mailbox, Support.mailbox),
        ]
        for (scope, registry, support) in scopes {
            for name in registry.names {
                #expect(support[name] != nil, "\(scope) setting \(name) has no classification in Support")
            }
            // Only names the registry knows (namespace's 2.3 `location` is read by the builder itself).
            for name in support.keys where registry.lookup(name) == nil && name != "location" {
                Issue.record("Support.\(scope) classifies \(name), which is not defined")
            }
        }
        for kind in Builder.sectionKinds + Array(Registry.prefixFilters) + ["acl", "mail_plugins", "fields"] {
            #expect(Support.sections[kind] != nil, "section \(kind) has no classification")
        }
        for mechanism in ["plain", "login"] { #expect(Support.authMechanisms[mechanism] == .enforced) }
        for name in Support.enforcedNotes.keys {
            #expect(Support.global[name] == .enforced || Support.service[name] == .enforced, "note for \(name)")
        }
    }

    /// The issue's list of settings that used to do nothing silently: each is now refused with FILE:LINE.
    /// The issue's list of settings that used to do nothing silently: each is now refused at its FILE:LINE.
    @Test(arguments: [
        ("quota_storage_size = 1G", "quota_storage_size", 1),
        ("service imap-login {\n  chroot = login\n}", "service { chroot }", 2),
        ("passdb passwd-file {\n  passwd_file_path = /etc/users\n  service_name = imap\n}", "passdb { service_name }", 3),
        ("mail_driver = sdbox", "mail_driver = sdbox", 1),
        ("mail_driver = mbox", "mail_driver = mbox", 1),
        ("ssl_cipher_suites = TLS_AES_128_GCM_SHA256", "ssl_cipher_suites", 1),
        ("auth_verbose_passwords = plain", "auth_verbose_passwords", 1),
        ("info_log_path = /var/log/aerie-info.log", "info_log_path", 1),
        ("mail_plugins = mail_crypt", "mail_plugins: mail_crypt", 1),
        ("acl_driver = vfile", "acl_driver", 1),
        ("acl {\n}", "acl { }", 1),
        ("metric auth_failures {\n  filter = event=auth_request_finished\n}", "metric auth_failures { }", 1),
        ("event_exporter log {\n}", "event_exporter log { }", 1),
        ("quota \"User quota\" {\n}", "quota User quota { }", 1),
        ("passdb pam {\n}", "passdb driver pam", 1),
        ("userdb lua {\n}", "userdb driver lua", 1),
        ("auth_mechanisms = plain cram-md5", "auth_mechanisms = cram-md5", 1),
        ("remote 10.0.0.0/8 {\n  auth_failure_delay = 5 secs\n}", "remote 10.0.0.0/8 { }", 1),
        ("service auth {\n  unix_listener auth-client {\n  }\n}", "service auth { }", 1),
        ("mail_location = mbox:~/mail", "mail_driver = mbox", 1),
        ("protocol pop3 {\n  auth_mechanisms = plain\n}", "auth_mechanisms inside protocol pop3 { }", 2),
        ("protocol imap {\n  mail_path = ~/imap\n}", "mail_path inside protocol imap { }", 2),
        ("passdb {\n  driver = passwd-file\n  args = username_format=%n /etc/users\n}", "passdb { args = username_format=… }", 1),
        ("passdb passwd-file {\n  passwd_file_path = /etc/users\n}\nprotocol imap {\n  passdb pam {\n  }\n}", "passdb driver pam", 5),
    ] as [(String, String, Int)])
    func notImplementedIsRefused(text: String, what: String, line: Int) {
        let errors = loadErrors(text + "\n")
        #expect(errors.contains { $0.hasPrefix("\(f):\(line): \(what) is not supported by Aerie yet") }, "\(errors)")
    }

    @Test func proxyProtocolSettingsAreAccepted() {
        let c = loadOK("""
            haproxy_trusted_networks = 10.0.0.0/8 2001:db8::/32
            haproxy_timeout = 5 secs
            service imap-login {
              inet_listener imap {
                port = 143
                haproxy = yes
              }
            }
            """)
        #expect(c?.settings.haproxyTrustedNetworks == ["10.0.0.0/8", "2001:db8::/32"])
        #expect(c?.settings.haproxyTimeout == .seconds(5))
        #expect(c?.settings.service(named: "imap-login")?.inetListeners.first?.haproxy == true)
    }

    @Test func exactRefusalText() {
        #expect(loadErrors("protocols = imap\nquota_storage_size = 1G\n") == [
            "\(f):2: quota_storage_size is not supported by Aerie yet (quotas other than quota_mail_size are not "
                + "enforced yet; use filesystem quotas for the mail user meanwhile)",
        ])
    }

    /// Refused only when the value differs from the default: a file that spells out a default still loads.
    @Test func defaultValuesAreAccepted() {
        let c = loadOK("""
            quota_storage_size = 0
            mail_driver = maildir
            auth_verbose_passwords = no
            ssl_server_request_client_cert = no
            mail_chroot =
            mail_plugins =
            passdb passwd-file {
              passwd_file_path = /etc/users
              master = no
            }
            """)
        #expect(c?.warnings == [])
    }

    @Test func noEffectWarnsWithTheReason() throws {
        let c = try #require(loadOK("""
            auth_realms = example.com
            service imap-login {
              process_limit = 100
              vsz_limit = 64M
            }
            mail_plugins = quota
            """))
        let w = warningLines(c)
        #expect(w.count == 4, "\(w)")
        #expect(w.contains { $0.hasPrefix("\(f):1: warning: auth_realms has no effect in Aerie: realms select") })
        #expect(w.contains { $0.hasPrefix("\(f):3: warning: service { process_limit } has no effect in Aerie: ") })
        #expect(w.contains { $0.hasPrefix("\(f):4: warning: service { vsz_limit } has no effect in Aerie: ") })
        #expect(w.contains { $0.hasPrefix("\(f):6: warning: mail_plugins: quota has no effect in Aerie: ") })
    }

    @Test func sslRequiredMakesCleartextAllowanceMoot() throws {
        let c = try #require(loadOK("auth_allow_cleartext = yes\n"))
        #expect(warningLines(c).contains {
            $0.hasPrefix("\(f):1: warning: auth_allow_cleartext = yes has no effect in Aerie while ssl = required")
        })
        #expect(c.securityWarnings().isEmpty)
        let optional = try #require(loadOK("ssl = yes\nauth_allow_cleartext = yes\n"))
        #expect(warningLines(optional).isEmpty)
        #expect(optional.securityWarnings().contains {
            $0.hasPrefix("auth_allow_cleartext = yes: cleartext passwords are accepted")
        })
    }

    @Test func clientLimitOnlyWhereEnforced() {
        #expect(loadOK("service imap-login {\n  client_limit = 5\n}\n")?.warnings == [])
        #expect(loadErrors("service pop3-login {\n  client_limit = 5\n}\n").first?
            .hasPrefix("\(f):2: service { client_limit } is not supported by Aerie yet") == true)
    }

    @Test func passdbInProtocolAppliesToThatProtocol() throws {
        let c = try #require(loadOK("""
            passdb passwd-file {
              passwd_file_path = /etc/all
            }
            protocol pop3 {
              passdb pop-only {
                driver = passwd-file
                passwd_file_path = /etc/pop
              }
            }
            """))
        #expect(c.settings.passdbs.map(\.protocols) == [[], ["pop3"]])
    }

    @Test func perProtocolSettingsAreAcceptedInProtocolFilters() throws {
        let c = try #require(loadOK("""
            protocol imap {
              login_greeting = IMAP here
              imap_max_line_length = 128k
            }
            protocol pop3 {
              login_greeting = POP3 here
              auth_failure_delay = 3 secs
            }
            protocol lmtp {
              quota_mail_size = 20M
            }
            """))
        #expect(c.warnings.isEmpty)
        #expect(c.settings.forProtocol("pop3").loginGreeting == "POP3 here")
    }

    @Test func protocolFiltersForOtherProtocolsWarn() throws {
        let c = try #require(loadOK("protocol lda {\n  mail_plugins = sieve\n}\n"))
        #expect(warningLines(c).first?.hasPrefix("\(f):1: warning: protocol lda { } has no effect in Aerie") == true)
        #expect(loadErrors("protocol imap4 {\n}\n").first?.hasPrefix("\(f):1: Unknown protocol: imap4") == true)
    }
}

/// The README's table of what each Dovecot setting does in Aerie is `aerie conf settings`' output, verbatim.
@Suite struct SupportReadmeTests {
    @Test func readmeTableMatchesTheCode() throws {
        let readme = fixturesDir.replacingOccurrences(of: "/Tests/Fixtures/config", with: "/README.md")
        let text = try String(contentsOfFile: readme, encoding: .utf8)
        let begin = "<!-- settings-table:begin (aerie conf settings) -->\n", end = "<!-- settings-table:end -->"
        let start = try #require(text.range(of: begin)), stop = try #require(text.range(of: end))
        let table = String(text[start.upperBound..<stop.lowerBound])
        #expect(table == Support.markdown(), "README.md is out of date: replace its table with `aerie conf settings`")
    }
}
