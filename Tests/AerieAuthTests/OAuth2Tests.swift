import SASL
import Testing

@testable import AerieAuth

/// RFC 7628 §3.1 client responses, XOAUTH2's, and the §3.2.2 error challenge.
@Suite struct OAuth2MessageTests {
    @Test func oauthBearerWithUser() throws {
        // RFC 7628 §4.1's example.
        let token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
        let pairs = "host=server.example.com\u{01}port=143\u{01}auth=Bearer \(token)\u{01}"
        let message = Array("n,a=user@example.com,\u{01}\(pairs)\u{01}".utf8)
        let parsed = try OAuth2ClientResponse.parseOAuthBearer(message)
        #expect(parsed == OAuth2ClientResponse(user: "user@example.com", token: token))
    }

    @Test func oauthBearerWithoutUserAndEscapedName() throws {
        let anonymous = Array("n,,\u{01}auth=bearer abc.def.ghi\u{01}\u{01}".utf8)
        #expect(try OAuth2ClientResponse.parseOAuthBearer(anonymous).user == "")
        let escaped = Array("y,a=a=2Cb=3D,\u{01}auth=Bearer t\u{01}\u{01}".utf8)
        #expect(try OAuth2ClientResponse.parseOAuthBearer(escaped).user == "a,b=")
    }

    @Test(arguments: [
        "n,a=u,\u{01}auth=Bearer t\u{01}",  // one kvsep at the end
        "p=tls-unique,,\u{01}auth=Bearer t\u{01}\u{01}",  // channel binding is not offered
        "n,a=u,\u{01}\u{01}",  // no auth
        "n,a=u,\u{01}auth=Basic dXNlcjpwYXNz\u{01}\u{01}",
        "n,a=u,\u{01}auth=Bearer t\u{01}auth=Bearer s\u{01}\u{01}",
        "n,a=u=41,\u{01}auth=Bearer t\u{01}\u{01}",
        "n,a=u,\u{01}auth=Bearer t t\u{01}\u{01}",
        "\u{01}",
    ])
    func oauthBearerMalformed(_ text: String) {
        #expect(throws: SASLFailure.malformed) { try OAuth2ClientResponse.parseOAuthBearer(Array(text.utf8)) }
    }

    @Test func xoauth2() throws {
        let token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
        let message = Array("user=someuser@example.com\u{01}auth=Bearer \(token)\u{01}\u{01}".utf8)
        let parsed = try OAuth2ClientResponse.parseXOAuth2(message)
        #expect(parsed == OAuth2ClientResponse(user: "someuser@example.com", token: token))
        #expect(throws: SASLFailure.malformed) {
            try OAuth2ClientResponse.parseXOAuth2(Array("auth=Bearer t\u{01}\u{01}".utf8))
        }
    }

    @Test func dummyResponse() {
        #expect(OAuth2ClientResponse.isDummy([0x01]))
        #expect(OAuth2ClientResponse.isDummy([]))
    }

    @Test func errorChallenge() {
        let bearer = OAuth2ErrorStatus.invalidToken.challenge(
            xoauth2: false, scope: "", openIDConfiguration: "https://issuer/.well-known/openid-configuration")
        #expect(
            String(decoding: bearer, as: UTF8.self)
                == #"{"status":"invalid_token","scope":"mail","#
                + #""openid-configuration":"https://issuer/.well-known/openid-configuration"}"#)
        let google = OAuth2ErrorStatus.insufficientScope.challenge(
            xoauth2: true, scope: "mail imap", openIDConfiguration: "")
        #expect(
            String(decoding: google, as: UTF8.self) == #"{"status":"403","schemes":"bearer","scope":"mail imap"}"#)
    }
}

/// The claim checks, as Dovecot's oauth2-jwt.c makes them.
@Suite struct OAuth2ClaimCheckTests {
    let now = 1_800_000_000.0
    var settings = OAuth2Settings(
        mode: .local, openIDConfigurationURL: "https://issuer/.well-known/openid-configuration", clientID: "aerie",
        scope: ["mail"], usernameAttribute: "email", activeAttribute: "email_verified", activeValue: "true")

    var good: [String: OAuth2JSON] {
        [
            "iss": .string("https://issuer"), "aud": .array([.string("other"), .string("aerie")]),
            "exp": .number(now + 300), "nbf": .number(now - 10), "iat": .number(now - 10),
            "scope": .string("openid mail"), "email": .string("alice@example.com"), "email_verified": .bool(true),
        ]
    }

    func check(_ claims: [String: OAuth2JSON], login: String = "") throws(OAuth2Refusal) -> String {
        try OAuth2ClaimCheck.check(
            claims, settings: settings, expectedIssuers: ["https://issuer"], login: login, now: now)
    }

    func refusal(_ claims: [String: OAuth2JSON], login: String = "") -> OAuth2Refusal? {
        do { _ = try check(claims, login: login) } catch { return error }
        return nil
    }

    @Test func acceptsAGoodToken() throws {
        #expect(try check(good) == "alice@example.com")
        #expect(try check(good, login: "alice@example.com") == "alice@example.com")
    }

    @Test func expiry() {
        var claims = good
        claims["exp"] = .number(now - 61)
        #expect(refusal(claims)?.description == "token has expired")
        claims["exp"] = .number(now - 30)  // within token_expire_grace
        #expect(refusal(claims) == nil)
        claims["exp"] = nil
        #expect(refusal(claims)?.description == "token has no 'exp' claim")
        claims["exp"] = .string("soon")
        #expect(refusal(claims)?.description == "malformed 'exp' claim")
    }

    @Test func notBeforeAndIssuedAt() {
        var claims = good
        claims["nbf"] = .number(now + 60)
        #expect(refusal(claims)?.description == "token is not valid yet (nbf)")
        claims = good
        claims["iat"] = .number(now + 60)
        #expect(refusal(claims)?.description == "token is issued in the future")
    }

    @Test func issuerAndAudience() {
        var claims = good
        claims["iss"] = .string("https://evil")
        #expect(refusal(claims)?.description == "issuer 'https://evil' is not allowed")
        claims = good
        claims["aud"] = .string("someone-else")
        #expect(refusal(claims)?.description == "client_id not found in the token's 'aud' claim")
        claims["aud"] = nil
        #expect(refusal(claims) != nil)
    }

    @Test func introspectionAnswerNeedsNoAudienceButAWrongOneIsRefused() throws {
        var claims = good
        claims["aud"] = nil
        claims["exp"] = nil
        #expect(
            try OAuth2ClaimCheck.check(
                claims, settings: settings, expectedIssuers: [], login: "", now: now, introspected: true)
                == "alice@example.com")
        claims["aud"] = .string("someone-else")
        #expect(throws: OAuth2Refusal.self) {
            try OAuth2ClaimCheck.check(
                claims, settings: settings, expectedIssuers: [], login: "", now: now, introspected: true)
        }
    }

    @Test func scopeAndActive() {
        var claims = good
        claims["scope"] = .string("openid profile")
        #expect(refusal(claims)?.status == .insufficientScope)
        claims = good
        claims["email_verified"] = .bool(false)
        #expect(refusal(claims)?.description == "token is not active ('email_verified')")
        claims["email_verified"] = nil
        #expect(refusal(claims)?.description == "token has no 'email_verified' claim")
    }

    @Test func userName() {
        #expect(
            refusal(good, login: "bob@example.com")?.description == "the token's 'email' differs from the login name")
        var claims = good
        claims["email"] = nil
        #expect(refusal(claims)?.description == "token has no 'email' claim")
    }

    @Test func settingsValidation() {
        #expect(throws: OAuth2ConfigurationError.self) { try OAuth2Settings(mode: .local).validate() }
        #expect(throws: OAuth2ConfigurationError.self) { try OAuth2Settings(mode: .post).validate() }
        #expect(throws: OAuth2ConfigurationError.self) {
            try OAuth2Settings(mode: .post, introspectionURL: "http://issuer/introspect").validate()
        }
        #expect(throws: Never.self) { try OAuth2Settings(mode: .post, introspectionURL: "https://issuer/i").validate() }
        // A local JWKS file names no issuer; introspection is never a file.
        let file = "file:///etc/aerie/jwks.json"
        #expect(throws: OAuth2ConfigurationError.self) {
            try OAuth2Settings(mode: .local, openIDConfigurationURL: file).validate()
        }
        #expect(throws: Never.self) {
            try OAuth2Settings(mode: .local, openIDConfigurationURL: file, issuers: ["https://idp"]).validate()
        }
        #expect(throws: OAuth2ConfigurationError.self) {
            try OAuth2Settings(mode: .post, introspectionURL: file).validate()
        }
    }
}
