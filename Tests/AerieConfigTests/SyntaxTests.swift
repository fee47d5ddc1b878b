import Foundation
import Testing
@testable import AerieConfig

@Suite struct SyntaxTests {
    let f = "/nonexistent/aerie.conf"

    @Test func basicTypedSettings() throws {
        let c = try #require(loadSyntaxOK("""
            # whole-line comment
            auth_mechanisms = plain login
            protocols = imap pop3 lmtp
            auth_cache_size = 10M
            auth_cache_ttl = 1 hour
            auth_failure_delay = 3 secs
            imap_max_line_length = 128k
            first_valid_uid = 1001
            auth_verbose=yes
            """))
        let s = c.settings
        #expect(s.authMechanisms == ["plain", "login"])
        #expect(s.protocols == ["imap", "pop3", "lmtp"])
        #expect(s.authCacheSize == 10 << 20)
        #expect(s.authCacheTTL == .seconds(3600))
        #expect(s.authFailureDelay == .seconds(3))
        #expect(s.imapMaxLineLength == 128 << 10)
        #expect(s.firstValidUID == 1001)
        #expect(s.authVerbose)
        #expect(c.warnings.isEmpty)
    }

    @Test func trailingCommentsAndQuotes() throws {
        let c = try #require(loadSyntaxOK("""
            auth_debug_passwords = no # Enable only for troubleshooting
            login_greeting = "Hello # not a comment \\"quoted\\"" # comment
            log_timestamp = '%Y %H '
            """))
        #expect(c.settings.value(forKey: "auth_debug_passwords") == "no")
        #expect(c.settings.loginGreeting == "Hello # not a comment \"quoted\"")
        #expect(c.settings.logTimestamp == "%Y %H ")
    }

    @Test func lineContinuation() throws {
        let c = try #require(loadSyntaxOK("auth_mechanisms = plain \\\n    login \\\n  external\n"))
        #expect(c.settings.authMechanisms == ["plain", "login", "external"])
    }

    @Test func unknownSettingSuggestsNearest() {
        #expect(loadErrors("ssl = required\nauth_failure_dely = 2 secs\n")
                == ["\(f):2: Unknown setting: auth_failure_dely (did you mean auth_failure_delay?)"])
        #expect(loadErrors("totally_unknown_thing = 1\n") == ["\(f):1: Unknown setting: totally_unknown_thing"])
    }

    @Test func badValuesNameTheSettingAndValidValues() {
        #expect(loadErrors("ssl = maybe") == ["\(f):1: Invalid value for ssl: 'maybe' (valid values: no, yes, required)"])
        #expect(loadErrors("auth_verbose = sure") == ["\(f):1: Invalid boolean for auth_verbose: 'sure' (valid values: yes, no)"])
        #expect(loadErrors("auth_cache_size = 12X")
                == ["\(f):1: Invalid size for auth_cache_size: '12X' (use a number with an optional unit B, k, M, G, T, e.g. 64k)"])
        #expect(loadErrors("first_valid_uid = abc")
                == ["\(f):1: Invalid number for first_valid_uid: 'abc' (use an unsigned integer 0..4294967295 or unlimited)"])
        #expect(loadErrors("auth_failure_delay = soon")
                == ["\(f):1: Invalid time interval for auth_failure_delay: 'soon' (use a number and a unit: ms, secs, mins, hours, days, weeks, e.g. 2 secs)"])
        #expect(loadErrors("ssl_min_protocol = SSLv3")
                == ["\(f):1: Invalid value for ssl_min_protocol: 'SSLv3' (valid values: ANY, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)"])
        #expect(loadErrors("ssl_cipher_list = HIGH:NOPE")
                == ["\(f):1: Invalid ssl cipher list for ssl_cipher_list: unknown cipher or keyword 'NOPE' (e.g. ECDHE-RSA-AES256-GCM-SHA384, HIGH, !aNULL)"])
    }

    @Test func allErrorsAreReported() {
        let errs = loadErrors("ssl = maybe\nauth_verbose = sure\nnope = 1\n")
        #expect(errs.count == 3)
        #expect(errs.map { $0.split(separator: ":")[1] } == ["1", "2", "3"])
    }

    @Test func missingEqualsAndBraces() {
        #expect(loadErrors("auth_verbose yes") == ["\(f):1: Expecting '=' after 'auth_verbose'"])
        #expect(loadErrors("service imap-login {\n  process_limit = 5\n")
                == ["\(f):1: Missing '}' for section 'service imap-login' opened here"])
        #expect(loadErrors("ssl = yes\n}\n") == ["\(f):2: Unexpected '}' without a matching section"])
        #expect(loadErrors("service imap { process_limit = 1 }")
                == ["\(f):1: Settings after '{' on the same line are not supported; put each setting on its own line"])
        #expect(loadErrors("login_greeting = \"open") == ["\(f):1: Missing closing quote (\")"])
    }

    @Test func unknownSectionSuggests() {
        #expect(loadErrors("servcie imap {\n}\n") == ["\(f):1: Unknown section: servcie (did you mean service?)"])
    }

    @Test func nestingLimit() {
        var text = ""
        for i in 0..<17 { text += "local 10.0.0.\(i) {\n" }
        for _ in 0..<17 { text += "}\n" }
        #expect(loadErrors(text).contains("\(f):17: Sections nested deeper than 16 levels"))
    }

    @Test func oversizedTextRejected() {
        let big = String(repeating: "# padding line\n", count: 300_000)
        #expect(loadErrors(big) == ["\(f):0: File too large (limit 4194304 bytes)"])
    }

    @Test func defaultsAreSecure() {
        let s = ConfigLoader.defaults().settings
        #expect(s.ssl == .required)
        #expect(s.authAllowCleartext == false)
        #expect(s.sslMinProtocol == .tls1_2)
        #expect(s.sslCipherList == Registry.modernCipherList)
        #expect(s.authFailureDelay == .seconds(2))
        #expect(s.authVerbosePasswords == "no")
        #expect(s.authAllowWeakSchemes == false)
        #expect(s.firstValidUID == 500)
        #expect(s.authMechanisms == ["plain"])
        #expect(s.logPath == "syslog")
        #expect(s.logTimestamp == "%b %d %H:%M:%S ")
        #expect(s.loginGreeting == "Aerie ready.")
        #expect(s.listen == ["*", "::"])
        #expect(s.loginTimeout == .seconds(60))
        #expect(s.mailMaxUseripConnections == 10)
        #expect(s.imapMaxLineLength == 65536)
        #expect(s.value(forKey: "pop3_uidl_format") == "%08Xu%08Xv")  // Dovecot 2.3's default, verified against a running Dovecot
        #expect(s.value(forKey: "default_login_user") == "dovenull")
        #expect(s.services.map(\.name) == ["imap-login", "pop3-login"])
        #expect(s.service(named: "imap-login")?.inetListeners.map(\.name) == ["imaps"])
        #expect(s.service(named: "imap-login")?.inetListeners.first?.port == 993)
        #expect(s.service(named: "pop3-login")?.inetListeners.first?.port == 995)
        #expect(s.service(named: "pop3-login")?.inetListeners.first?.ssl == true)
        #expect(ConfigLoader.defaults().securityWarnings().isEmpty)
        // An empty file gives the same defaults.
        #expect(loadSyntaxOK("")?.settings.services.map(\.name) == ["imap-login", "pop3-login"])
    }
}
