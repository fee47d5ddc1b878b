import AerieConfig
import Testing

/// Dovecot 2.4's `oauth2 { }` filter: its keys are the `oauth2_*` settings.
@Suite struct OAuth2ConfigTests {
    @Test func theFilterSetsTheOAuth2SettingsAndTheSecretIsNotDumped() throws {
        let c = try #require(loadOK("""
            auth_mechanisms = plain oauthbearer xoauth2
            oauth2 {
              introspection_mode = local
              openid_configuration_url = https://idp.example.com/.well-known/openid-configuration
              client_id = aerie
              client_secret = Client-Secret-1
              scope = mail imap
            }
            """))
        #expect(c.settings.value(forKey: "oauth2_introspection_mode") == "local")
        #expect(c.settings.value(forKey: "oauth2_client_id") == "aerie")
        #expect(c.settings.list(forKey: "oauth2_scope") == ["mail", "imap"])
        for nonDefaultOnly in [true, false] {
            let dump = c.dump(nonDefaultOnly: nonDefaultOnly)
            #expect(!dump.contains("Client-Secret"), "\(dump)")
            #expect(dump.contains("oauth2_client_secret = # hidden"))
        }
    }
}
