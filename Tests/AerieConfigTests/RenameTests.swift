import Testing
@testable import AerieConfig

@Suite struct RenameTests {
    let f = "/nonexistent/aerie.conf"

    @Test func disablePlaintextAuthIsInverted() throws {
        let c = try #require(loadSyntaxOK("disable_plaintext_auth = no\n"))
        #expect(c.settings.authAllowCleartext == true)
        #expect(warningLines(c) == ["\(f):1: warning: disable_plaintext_auth is the Dovecot 2.3 name; Dovecot 2.4 replaced it with auth_allow_cleartext (inverted: auth_allow_cleartext = yes)"])
        #expect(loadSyntaxOK("disable_plaintext_auth = yes\n")?.settings.authAllowCleartext == false)
        #expect(loadErrors("disable_plaintext_auth = perhaps\n") == ["\(f):1: Invalid boolean for disable_plaintext_auth: 'perhaps' (valid values: yes, no)"])
    }

    @Test func sslFileSettingsDropTheAngleBracket() throws {
        let c = try #require(loadSyntaxOK("ssl_cert = </etc/ssl/cert.pem\nssl_key = </etc/ssl/key.pem\nssl_ca = </etc/ssl/ca.pem\n"))
        #expect(c.settings.sslServerCertFile == "/etc/ssl/cert.pem")
        #expect(c.settings.sslServerKeyFile == "/etc/ssl/key.pem")
        #expect(c.settings.sslServerCAFile == "/etc/ssl/ca.pem")
        #expect(warningLines(c).first == "\(f):1: warning: ssl_cert is the Dovecot 2.3 name; Dovecot 2.4 calls it ssl_server_cert_file and takes the path without '<' (ssl_server_cert_file = /etc/ssl/cert.pem)")
    }

    @Test func preferServerCiphers() throws {
        #expect(loadSyntaxOK("ssl_prefer_server_ciphers = yes")?.settings.sslServerPreferCiphers == "server")
        #expect(loadSyntaxOK("ssl_prefer_server_ciphers = no")?.settings.sslServerPreferCiphers == "client")
    }

    @Test func mailLocationIsSplit() throws {
        let c = try #require(loadSyntaxOK("mail_location = maildir:~/Maildir:LAYOUT=fs:INBOX=~/Maildir/.INBOX:INDEX=/var/idx/%u:CONTROL=/var/ctl/%u\n"))
        let s = c.settings
        #expect(s.mailDriver == "maildir")
        #expect(s.mailPath == "~/Maildir")
        #expect(s.mailboxListLayout == "fs")
        #expect(s.value(forKey: "mail_inbox_path") == "~/Maildir/.INBOX")
        #expect(s.value(forKey: "mail_index_path") == "/var/idx/%{user}")
        #expect(s.value(forKey: "mail_control_path") == "/var/ctl/%{user}")
        #expect(warningLines(c).first == "\(f):1: warning: mail_location is the Dovecot 2.3 setting; Dovecot 2.4 splits it into mail_driver = maildir, mail_path = ~/Maildir, mailbox_list_layout = fs, mail_inbox_path = ~/Maildir/.INBOX, mail_index_path = /var/idx/%u, mail_control_path = /var/ctl/%u")
        #expect(loadErrors("mail_location = maildur:~/Maildir") .first?.hasPrefix("\(f):1: Unknown mail storage driver 'maildur'") == true)
    }

    @Test func loginFailureDelayIsNotDovecot() throws {
        let c = try #require(loadSyntaxOK("login_failure_delay = 5 secs\n"))
        #expect(c.settings.authFailureDelay == .seconds(5))
        #expect(warningLines(c) == ["\(f):1: warning: login_failure_delay is not a Dovecot setting (neither 2.3 nor 2.4 has it; Dovecot would refuse this file); using it as auth_failure_delay = 5 secs"])
    }

    @Test func usernameFormatVariablesTranslated() throws {
        let c = try #require(loadSyntaxOK("auth_username_format = %Lu\n"))
        #expect(c.settings.authUsernameFormat == "%{user | lower}")
        #expect(warningLines(c) == ["\(f):1: warning: auth_username_format uses Dovecot 2.3 %variables; Dovecot 2.4 syntax is auth_username_format = %{user | lower}"])
    }

    @Test func oldStylePassdbAndUserdb() throws {
        let c = try #require(loadSyntaxOK("""
            passdb {
              driver = passwd-file
              args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/users
            }
            userdb {
              driver = passwd-file
              args = /etc/dovecot/users
              default_fields = uid=vmail home=/var/mail/%u
            }
            """))
        let p = try #require(c.settings.passdbs.first)
        #expect(p.driver == "passwd-file")
        #expect(p.passwdFilePath == "/etc/dovecot/users")
        #expect(p.defaultPasswordScheme == "SHA512-CRYPT")
        #expect(p.fields["username_format"] == "%{user}")
        let u = try #require(c.settings.userdbs.first)
        #expect(u.passwdFilePath == "/etc/dovecot/users")
        #expect(u.defaultFields["uid"] == "vmail" && u.defaultFields["home"] == "/var/mail/%{user}")
        #expect(warningLines(c) == [
            "\(f):1: warning: passdb with driver/args is Dovecot 2.3 syntax; Dovecot 2.4 writes passdb passwd-file { passwd_file_path = /etc/dovecot/users default_password_scheme = SHA512-CRYPT }",
            "\(f):5: warning: userdb with driver/args is Dovecot 2.3 syntax; Dovecot 2.4 writes userdb passwd-file { passwd_file_path = /etc/dovecot/users }",
        ])
    }

    @Test func serviceCountAndRemovedSettings() throws {
        let c = try #require(loadSyntaxOK("service imap-login {\n  service_count = 1\n}\nauth_worker_max_count = 7\n"))
        #expect(warningLines(c) == [
            "\(f):2: warning: service { service_count } is the Dovecot 2.3 name; Dovecot 2.4 calls it restart_request_count",
            "\(f):4: warning: auth_worker_max_count: Dovecot 2.4 removed it; use service auth-worker { process_limit = N } (mapped there)",
        ])
        #expect(c.settings.service(named: "auth-worker")?.processLimit == 7)
    }

    @Test func pluginReferences() throws {
        let c = try #require(loadSyntaxOK("""
            mail_plugins = quota
            mail_plugins = $mail_plugins zlib
            protocol imap {
              mail_plugins = $SET:mail_plugins imap_quota
            }
            quota "User quota" {
            }
            """))
        #expect(c.settings.mailPlugins == ["quota", "zlib"])
        #expect(c.settings.forProtocol("imap").mailPlugins == ["quota", "zlib", "imap_quota"])
        #expect(warningLines(c) == ["\(f):2: warning: $mail_plugins is Dovecot 2.3 reference syntax; Dovecot 2.4 only expands $SET:mail_plugins"])
    }

    @Test func boolListBlocks() throws {
        let c = try #require(loadSyntaxOK("mail_plugins = quota acl\nacl_driver = vfile\nquota_storage_size = 1G\nmail_plugins {\n  acl = no\n  zlib = yes\n}\nprotocol imap {\n  mail_plugins {\n    imap_quota = yes\n  }\n}\n"))
        #expect(c.settings.mailPlugins == ["quota", "zlib"])
        #expect(c.settings.forProtocol("imap").mailPlugins == ["quota", "zlib", "imap_quota"])
        #expect(c.warnings.isEmpty)
    }

    @Test func pluginSectionOf23() throws {
        let c = try #require(loadSyntaxOK("plugin {\n  quota_grace = 5M\n}\n"))
        #expect(c.settings.value(forKey: "quota_storage_grace") == "5M")
        #expect(warningLines(c) == [
            "\(f):1: warning: plugin { } is Dovecot 2.3 syntax; in Dovecot 2.4 plugin settings are plain global settings",
            "\(f):2: warning: quota_grace is the Dovecot 2.3 name; Dovecot 2.4 calls it quota_storage_grace",
        ])
    }
}
