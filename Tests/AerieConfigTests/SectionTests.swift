import Testing
@testable import AerieConfig

@Suite struct SectionTests {
    let f = "/nonexistent/aerie.conf"

    @Test func servicesAndListeners() throws {
        let c = try #require(loadSyntaxOK("""
            service imap-login {
              inet_listener imap {
                port = 1143
                address = 127.0.0.1, ::1
              }
              inet_listener imaps {
                port = 1993
                ssl = yes
                haproxy = yes
              }
              process_limit = 50
              client_limit = 200
              process_min_avail = 2
              vsz_limit = 64M
              user = dovenull
              chroot = login
            }
            service auth {
              unix_listener auth-userdb {
                mode = 0660
                user = vmail
                group = vmail
              }
            }
            """))
        let svc = try #require(c.settings.service(named: "imap-login"))
        #expect(svc.inetListeners.map(\.name) == ["imap", "imaps"])
        #expect(svc.inetListeners[0].port == 1143 && svc.inetListeners[0].ssl == false)
        #expect(svc.inetListeners[0].address == ["127.0.0.1", "::1"])
        #expect(svc.inetListeners[1].ssl && svc.inetListeners[1].haproxy && svc.inetListeners[1].address == nil)
        #expect(svc.processLimit == 50 && svc.clientLimit == 200 && svc.processMinAvail == 2)
        #expect(svc.vszLimit == 64 << 20)
        #expect(svc.user == "dovenull" && svc.chroot == "login")
        let ul = try #require(c.settings.service(named: "auth")?.unixListeners.first)
        #expect(ul.name == "auth-userdb" && ul.path == "auth-userdb" && ul.mode == 0o660 && ul.user == "vmail")
        // Configured services replace the defaults: no pop3-login appears.
        #expect(c.settings.service(named: "pop3-login") == nil)
        #expect(c.warnings.isEmpty)
    }

    @Test func listenerWithoutPortWarnsAndStaysClosed() throws {
        let c = try #require(loadSyntaxOK("service imap-login {\n  inet_listener imap {\n  }\n  inet_listener imaps {\n  }\n}\n"))
        let ls = try #require(c.settings.service(named: "imap-login")?.inetListeners)
        #expect(ls[0].port == nil)
        #expect(ls[1].port == 993 && ls[1].ssl)  // imaps keeps Dovecot's TLS default
        #expect(warningLines(c) == ["\(f):2: warning: inet_listener imap has no port: Dovecot would still listen on its default port 143 (only port = 0 disables a listener); Aerie opens no plaintext listener without an explicit port"])
    }

    @Test func serviceErrors() {
        #expect(loadErrors("service imap-login {\n  proces_limit = 5\n}\n")
                == ["\(f):2: Unknown service setting: proces_limit (did you mean process_limit?)"])
        #expect(loadErrors("service imap-login {\n  inet_listener imap {\n    port = 70000\n  }\n}\n")
                == ["\(f):3: Invalid port for port: '70000' (use 0..65535; 0 disables the listener)"])
        #expect(loadErrors("service imap-login {\n  inet_lisener imap {\n  }\n}\n")
                == ["\(f):2: Unknown section inside service: inet_lisener (did you mean inet_listener?)"])
    }

    @Test func namespacesAndMailboxes() throws {
        let c = try #require(loadSyntaxOK("""
            namespace inbox {
              inbox = yes
              separator = /
              mailbox Sent {
                special_use = \\Sent
                auto = subscribe
              }
              mailbox "Sent Messages" {
                special_use = \\Sent
              }
              mailbox Trash {
                special_use = \\Trash
                auto = create
                autoexpunge = 30 days
              }
            }
            """))
        let ns = try #require(c.settings.namespaces.first)
        #expect(ns.name == "inbox" && ns.inbox && ns.separator == "/")
        #expect(ns.mailboxes.map(\.name) == ["Sent", "Sent Messages", "Trash"])
        #expect(ns.mailboxes[0].specialUse == ["\\Sent"] && ns.mailboxes[0].auto == "subscribe")
        #expect(ns.mailboxes[2].auto == "create")
        #expect(loadErrors("namespace inbox {\n  mailbox X {\n    auto = always\n  }\n}\n")
                == ["\(f):3: Invalid value for auto: 'always' (valid values: no, create, subscribe)"])
        #expect(loadErrors("namespace inbox {\n  mailbox X {\n    special_use = \\Spam\n  }\n}\n")
                == ["\(f):3: Invalid special_use '\\Spam' (valid values: \\All \\Archive \\Drafts \\Flagged \\Important \\Junk \\Sent \\Trash)"])
    }

    @Test func namespaceSeparator() throws {
        for good in [".", "/", "-", "\\"] {
            let quoted = good.replacingOccurrences(of: "\\", with: "\\\\")
            let c = try #require(loadSyntaxOK("namespace inbox {\n  separator = \"\(quoted)\"\n}\n"))
            #expect(c.settings.namespaces.first?.separator == good)
        }
        let unset = try #require(loadSyntaxOK("namespace inbox {\n  inbox = yes\n}\n"))
        #expect(unset.settings.namespaces.first?.separator == "")
        #expect(loadErrors("namespace inbox {\n  inbox = yes\n  separator = ::\n}\n")
                == ["\(f):3: Invalid separator '::': use exactly one character"])
        #expect(loadErrors("namespace inbox {\n  separator = x\n}\n")
                == ["\(f):2: Invalid separator 'x': a letter or digit can't separate hierarchy levels"])
        #expect(loadErrors("namespace inbox {\n  separator = 7\n}\n")
                == ["\(f):2: Invalid separator '7': a letter or digit can't separate hierarchy levels"])
        #expect(loadErrors("namespace inbox {\n  separator = %\n}\n")
                == ["\(f):2: Invalid separator '%': '*' and '%' are LIST wildcards"])
        #expect(loadErrors("namespace inbox {\n  separator = *\n}\n")
                == ["\(f):2: Invalid separator '*': '*' and '%' are LIST wildcards"])
        #expect(loadErrors("namespace inbox {\n  separator = \"é\"\n}\n")
                == ["\(f):2: Invalid separator 'é': use a printable ASCII character"])
    }

    @Test func passdbUserdb24Style() throws {
        let c = try #require(loadSyntaxOK("""
            passdb passwd-file {
              passwd_file_path = /etc/aerie/users
              default_password_scheme = ARGON2ID
            }
            passdb deny-list {
              driver = passwd-file
              passwd_file_path = /etc/aerie/deny
              deny = yes
            }
            userdb static {
              fields {
                uid = vmail
                home = /var/mail/%{user}
              }
            }
            """))
        #expect(c.settings.passdbs.map(\.name) == ["passwd-file", "deny-list"])
        #expect(c.settings.passdbs[0].driver == "passwd-file" && c.settings.passdbs[0].defaultPasswordScheme == "ARGON2ID")
        #expect(c.settings.passdbs[1].deny && c.settings.passdbs[1].passwdFilePath == "/etc/aerie/deny")
        #expect(c.settings.userdbs[0].driver == "static" && c.settings.userdbs[0].overrideFields["uid"] == "vmail")
        #expect(c.warnings.isEmpty)
    }

    @Test func protocolFilterOverrides() throws {
        let c = try #require(loadSyntaxOK("""
            auth_mechanisms = plain
            login_greeting = Hi
            protocol imap {
              auth_mechanisms = plain login
              imap_max_line_length = 128k
            }
            protocol pop3 {
              login_greeting = POP ready
            }
            """))
        #expect(c.settings.authMechanisms == ["plain"])
        let imap = c.settings.forProtocol("imap")
        #expect(imap.authMechanisms == ["plain", "login"] && imap.imapMaxLineLength == 128 << 10 && imap.loginGreeting == "Hi")
        #expect(c.settings.forProtocol("pop3").loginGreeting == "POP ready")
        #expect(c.settings.forProtocol("lmtp").authMechanisms == ["plain"])
        #expect(loadErrors("protocol imap {\n  imap_max_lin_length = 1\n}\n")
                == ["\(f):2: Unknown setting: imap_max_lin_length (did you mean imap_max_line_length?)"])
    }

    /// Not applied per connection yet, so refused (issue 15); their settings are still typed and checked.
    @Test func connectionFiltersAreRefused() throws {
        let c = try #require(loadSyntaxOK("local 1.2.3.4 {\n  login_greeting = local\n}\nremote 10.0.0.0/8 {\n  protocol imap {\n    auth_verbose = yes\n  }\n}\n"))
        #expect(c.settings.loginGreeting == "Aerie ready.")
        #expect(loadErrors("local 1.2.3.4 {\n  login_greeting = local\n}\n") == [
            "\(f):1: local 1.2.3.4 { } is not supported by Aerie yet (local and remote filters are not applied per "
                + "connection yet; put the settings at the top level or in protocol { })",
        ])
        #expect(loadErrors("remote 10.0.0.0/8 {\n  ssl = perhaps\n}\n").last == "\(f):2: Invalid value for ssl: 'perhaps' (valid values: no, yes, required)")
    }

    @Test func namedPrefixFilters() throws {
        let c = try #require(loadSyntaxOK("auth_policy {\n  server_url = http://policy.example/\n}\n"))
        #expect(c.settings.value(forKey: "auth_policy_server_url") == "http://policy.example/")
    }
}

@Suite struct AuthChainSettingsTests {
    @Test func chainSettingsAreRead() throws {
        let c = try #require(loadOK("""
            auth_master_user_separator = *
            auth_default_domain = example.com
            auth_cache_size = 1M
            passdb masters {
              driver = passwd-file
              passwd_file_path = /etc/aerie/masters
              master = yes
              pass = yes
            }
            passdb passwd-file {
              passwd_file_path = /etc/aerie/users
              result_success = continue-ok
              result_failure = return-fail
              result_internalfail = return
              skip = authenticated
              mechanisms = plain
              username_filter = *@example.com !root@*
              default_fields = userdb_quota_rule=*:storage=1G
              fields {
                userdb_home = /srv/%{user | domain}/%{user | username}
              }
            }
            userdb static {
              static_allow_all_users = yes
              skip = found
              fields {
                uid = vmail
                home = /var/mail/%d/%n
              }
            }
            """))
        #expect(c.warnings.isEmpty, "\(c.warnings)")
        let masters = c.settings.passdbs[0], main = c.settings.passdbs[1]
        #expect(masters.master && masters.pass)
        #expect(main.resultSuccess == "continue-ok" && main.resultFailure == "return-fail")
        #expect(main.resultInternalFailure == "return" && main.skip == "authenticated")
        #expect(main.mechanisms == ["plain"] && main.usernameFilter == ["*@example.com", "!root@*"])
        #expect(main.defaultFields == ["userdb_quota_rule": "*:storage=1G"])
        #expect(main.overrideFields == ["userdb_home": "/srv/%{user | domain}/%{user | username}"])
        let u = c.settings.userdbs[0]
        #expect(u.staticAllowAllUsers && u.skip == "found")
        #expect(u.overrideFields == ["uid": "vmail", "home": "/var/mail/%{user | domain}/%{user | username}"])
    }

    @Test func staticUserdbIn23ArgsSyntax() throws {
        let c = try #require(loadOK("""
            passdb {
              driver = passwd-file
              args = /etc/aerie/users
            }
            userdb {
              driver = static
              args = uid=vmail gid=vmail home=/var/mail/%u allow_all_users=yes
            }
            """))
        let u = c.settings.userdbs[0]
        #expect(u.driver == "static" && u.staticAllowAllUsers)
        #expect(u.overrideFields == ["uid": "vmail", "gid": "vmail", "home": "/var/mail/%{user}"])
    }

    @Test func staticPassdbIsRefused() {
        #expect(loadErrors("passdb static {\n  fields {\n    password = x\n  }\n}\n").contains {
            $0.contains("passdb driver static is not supported by Aerie yet")
        })
    }
}
