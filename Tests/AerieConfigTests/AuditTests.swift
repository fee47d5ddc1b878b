import Foundation
import Testing
@testable import AerieConfig

@Suite struct AuditTests {
    static let quota = "Aerie has no quota plugin; without quota settings (which Aerie refuses) Dovecot's enforces "
        + "nothing either"
    static let acl = "Aerie has no ACL plugin; without acl_driver (which Aerie refuses) Dovecot's enforces nothing either"
    static let process = "each of Aerie's process kinds (key worker, auth, mail service) runs one process, started "
        + "with the server and restarted when it ends, as process_min_avail = 1; it is not pre-forked or retired after "
        + "a number of requests (a per-uid mail process is started at the first login of its uid)"
    static let preLogin = "pre-login IMAP and POP3 run in one login process (in the mail service with login_process "
        + "= no), not one per connection, and it relays every TLS session, so a memory-limit restart would end them "
        + "all; client_limit here bounds pre-login connections"

    /// The guide's conf.d loads; exactly the lines Aerie does not enforce are named (issue 15), with the renames
    /// and audits of what the lines mean.
    @Test func hardeningGuideConfD() throws {
        let dir = fixturesDir + "/hardening"
        let c = try ConfigLoader.load(path: dir + "/dovecot.conf")
        let d = dir + "/conf.d"
        #expect(c.warnings.map(\.description) == [
            "\(d)/10-auth.conf:2: warning: disable_plaintext_auth is the Dovecot 2.3 name; Dovecot 2.4 replaced it with auth_allow_cleartext (inverted: auth_allow_cleartext = no)",
            "\(d)/10-auth.conf:6: warning: login_failure_delay is not a Dovecot setting (neither 2.3 nor 2.4 has it; Dovecot would refuse this file); using it as auth_failure_delay = 2 secs",
            "\(d)/10-logging.conf:6: warning: auth_debug: Dovecot 2.4 removed it; use log_debug = category=auth",
            "\(d)/10-mail.conf:5: warning: mail_location is the Dovecot 2.3 setting; Dovecot 2.4 splits it into mail_driver = maildir, mail_path = ~/Maildir, mailbox_list_layout = fs",
            "\(d)/10-mail.conf:7: warning: mail_plugins = $mail_plugins is a no-op: it sets mail_plugins to its own current value (and Dovecot 2.4 only expands $SET:mail_plugins)",
            "\(d)/10-mail.conf:9: warning: $mail_plugins is Dovecot 2.3 reference syntax; Dovecot 2.4 only expands $SET:mail_plugins",
            "\(d)/10-mail.conf:9: warning: mail_plugins: quota has no effect in Aerie: \(Self.quota)",
            "\(d)/10-mail.conf:9: warning: mail_plugins: acl has no effect in Aerie: \(Self.acl)",
            "\(d)/10-master.conf:12: warning: service { process_min_avail } has no effect in Aerie: \(Self.process)",
            "\(d)/10-master.conf:13: warning: service { process_limit } has no effect in Aerie: \(Self.preLogin)",
            "\(d)/10-master.conf:14: warning: service { vsz_limit } has no effect in Aerie: \(Self.preLogin)",
            "\(d)/10-master.conf:3: warning: inet_listener imap has no port: Dovecot would still listen on its default port 143 (only port = 0 disables a listener); Aerie opens no plaintext listener without an explicit port",
            "\(d)/10-master.conf:17: warning: service dict { } has no effect in Aerie: Aerie runs no such process: logging and statistics are built into its processes, the rest absent",
            "\(d)/10-master.conf:19: warning: service dict unix_listener dict: mode 0600 lets only dovecot connect; mail processes run as the mail user (mail_uid or the userdb uid), so their dict lookups (quota, acl) fail: use mode = 0660 with group = the mail users' group",
            "\(d)/10-mail.conf:3: warning: last_valid_uid = 0 means no upper UID limit; it does not disallow root (root is refused by first_valid_uid = 1000, which must stay above 0)",
        ])
        // The settings mean what the guide says.
        let s = c.settings
        #expect(s.authAllowCleartext == false && s.ssl == .required && s.authFailureDelay == .seconds(2))
        #expect(s.authCacheSize == 10 << 20 && s.authCacheTTL == .seconds(3600) && s.authCacheNegativeTTL == .seconds(600))
        #expect(s.firstValidUID == 1000 && s.lastValidUID == 0)
        #expect(s.mailDriver == "maildir" && s.mailPath == "~/Maildir" && s.mailboxListLayout == "fs")
        #expect(s.mailPlugins == ["quota", "acl"])
        #expect(s.logTimestamp == "%Y-%m-%d %H:%M:%S " && s.syslogFacility == "mail")
        #expect(s.authVerbose && !s.authDebug && !s.mailDebug && s.authVerbosePasswords == "no")
        let login = try #require(s.service(named: "imap-login"))
        #expect(login.inetListeners.first { $0.name == "imap" }?.port == nil)
        #expect(login.inetListeners.first { $0.name == "imaps" }?.port == 993)
        #expect(login.processLimit == 100 && login.processMinAvail == 0 && login.vszLimit == 64 << 20)
        #expect(c.securityWarnings().isEmpty)
    }

    @Test func acceptanceConfiguration() throws {
        let text = try String(contentsOfFile: fixturesDir + "/acceptance.conf", encoding: .utf8)
            .replacingOccurrences(of: "DIR", with: "/srv/aerie-test")
        let c = try ConfigLoader.load(text: text, path: "/srv/aerie-test/aerie.conf")
        #expect(c.warnings.isEmpty)
        #expect(c.securityWarnings().isEmpty)
        let s = c.settings
        #expect(s.protocols == ["imap"] && s.listen == ["127.0.0.1"] && s.baseDir == "/srv/aerie-test/run")
        #expect(s.logPath == "/srv/aerie-test/aerie.log" && s.logTimestamp == "%Y-%m-%d %H:%M:%S ")
        #expect(s.sslServerCertFile == "/srv/aerie-test/tls/cert.pem" && s.sslServerKeyFile == "/srv/aerie-test/tls/key.pem")
        #expect(s.authMechanisms == ["plain", "login"] && s.mailUID == "vmail" && s.mailGID == "vmail" && s.firstValidUID == 1000)
        #expect(s.passdbs.first?.passwdFilePath == "/srv/aerie-test/users" && s.userdbs.first?.driver == "passwd-file")
        let ls = try #require(s.service(named: "imap-login")?.inetListeners)
        #expect(ls.map { "\($0.name):\($0.port ?? -1):\($0.ssl)" } == ["imap:11143:false", "imaps:11993:true"])
    }

    @Test func securityWarningsForWeakSettings() throws {
        let c = try #require(loadSyntaxOK("""
            ssl = yes
            auth_allow_cleartext = yes
            ssl_min_protocol = TLSv1
            auth_allow_weak_schemes = yes
            auth_failure_delay = 500 ms
            auth_verbose_passwords = plain
            auth_debug_passwords = yes
            first_valid_uid = 0
            ssl_cipher_list = HIGH:RC4
            service imap-login {
              inet_listener imap {
                port = 143
              }
            }
            protocol pop3 {
              ssl = no
            }
            """))
        #expect(c.securityWarnings() == [
            "auth_allow_cleartext = yes: cleartext passwords are accepted on unencrypted connections",
            "auth_allow_weak_schemes = yes: weak password hashes (e.g. PLAIN-MD5, CRYPT) are accepted",
            "auth_debug_passwords = yes: passwords are written to the debug log",
            "auth_failure_delay = 500 ms: below 2 secs, password guessing is faster",
            "auth_verbose_passwords = plain: failed passwords are written to the log",
            "first_valid_uid = 0: system accounts including root may access mail (keep it at 500 or above)",
            "ssl = yes: TLS is optional, clients may stay unencrypted (secure default: ssl = required)",
            "ssl_cipher_list enables weak ciphers: RC4",
            "ssl_min_protocol = TLSv1: protocols older than TLSv1.2 are insecure",
            "protocol pop3: ssl = no: TLS is disabled; passwords and mail cross the network in cleartext",
            "service imap-login inet_listener imap: port 143 accepts connections without TLS while ssl = yes (set ssl = required)",
        ])
    }

    @Test func trustingEveryAddressIsAWarningHoweverWritten() throws {
        let c = try #require(loadOK("""
            login_trusted_networks = 10.0.0.0/8 0::0/0
            haproxy_trusted_networks = 0.0.0.0/0
            """))
        #expect(c.securityWarnings() == [
            "haproxy_trusted_networks contains 0.0.0.0/0: every client is trusted",
            "login_trusted_networks contains ::/0: every client is trusted",
        ])
        #expect(try #require(loadOK("login_trusted_networks = 10.0.0.0/8 ::1/128\n")).securityWarnings().isEmpty)
    }

    @Test func lmtpDeliverySettings() throws {
        // Defaults: quota_mail_size bounds LMTP at 50M (Dovecot: unlimited), Dovecot 2.4's concurrency limit and header.
        let d = try #require(loadOK("protocols = lmtp\n")).settings
        #expect(d.size(forKey: "quota_mail_size") == 50 << 20)
        #expect(d.number(forKey: "lmtp_user_concurrency_limit") == 10)
        #expect(d.value(forKey: "lmtp_add_received_header") == "yes")
        // The 2.3 plugin name is accepted as the 2.4 one; per-protocol values apply to LMTP.
        let c = try #require(loadOK("""
            quota_max_mail_size = 64k
            lmtp_user_concurrency_limit = 2
            protocol lmtp {
              lmtp_add_received_header = no
            }
            """))
        #expect(c.settings.size(forKey: "quota_mail_size") == 65536)
        #expect(c.settings.number(forKey: "lmtp_user_concurrency_limit") == 2)
        #expect(c.settings.forProtocol("lmtp").value(forKey: "lmtp_add_received_header") == "no")
        #expect(c.securityWarnings().isEmpty)
        for unlimited in ["0", "unlimited"] {
            let open = try #require(loadOK("quota_mail_size = \(unlimited)\n"))
            #expect(open.securityWarnings() == [
                "quota_mail_size = \(unlimited): LMTP accepts a message of any size and holds it in memory until it is stored"
            ])
        }
    }

    @Test func plaintextListenerWithRequiredSSLIsNotAWarning() throws {
        let c = try #require(loadOK("service imap-login {\n  inet_listener imap {\n    port = 143\n  }\n}\n"))
        #expect(c.securityWarnings().isEmpty)
    }

    /// UNAUTHENTICATE would bring pre-login parsing into the mail process: only without the login process.
    @Test func unauthenticateNeedsTheLoginProcessOff() throws {
        #expect(loadErrors("imap_unauthenticate = yes\n") == [
            "/nonexistent/aerie.conf:1: imap_unauthenticate = yes needs login_process = no: after UNAUTHENTICATE "
                + "the pre-login commands would be parsed in the mail process, which holds the mail, instead of the "
                + "confined login process (set login_process = no to offer it)"
        ])
        let off = try #require(loadOK("login_process = no\nimap_unauthenticate = yes\n"))
        #expect(off.settings.imapUnauthenticate && !off.settings.loginProcess)
        let defaults = try #require(loadOK(""))
        #expect(!defaults.settings.imapUnauthenticate && defaults.settings.loginProcess)
    }
}
