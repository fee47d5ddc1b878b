import Testing
@testable import AerieConfig

@Suite struct ValueTests {
    @Test func sizes() {
        #expect(ValueParser.size("10M") == 10 * 1024 * 1024)
        #expect(ValueParser.size("64k") == 65536)
        #expect(ValueParser.size("1G") == 1 << 30)
        #expect(ValueParser.size("4096") == 4096)
        #expect(ValueParser.size("2 MiB") == 2 << 20)
        #expect(ValueParser.size("12X") == nil)
        #expect(ValueParser.size("M") == nil)
        #expect(ValueParser.size("99999999999999999999T") == nil)
    }

    @Test func durations() {
        #expect(ValueParser.duration("2 secs") == .seconds(2))
        #expect(ValueParser.duration("1 hour") == .seconds(3600))
        #expect(ValueParser.duration("10 mins") == .seconds(600))
        #expect(ValueParser.duration("500 ms") == .milliseconds(500))
        #expect(ValueParser.duration("1 day") == .seconds(86400))
        #expect(ValueParser.duration("30") == .seconds(30))
        #expect(ValueParser.duration("2s") == .seconds(2))
        #expect(ValueParser.duration("1 m") == nil)  // ambiguous, as in Dovecot
        #expect(ValueParser.duration("soon") == nil)
        #expect(ValueParser.format(.seconds(3600)) == "1 hours")
        #expect(ValueParser.format(.milliseconds(1500)) == "1500 ms")
    }

    @Test func booleans() {
        #expect(ValueParser.bool("yes") == true)
        #expect(ValueParser.bool("NO") == false)
        #expect(ValueParser.bool("maybe") == nil)
        #expect(ValueParser.bool("1") == nil)
    }

    @Test func editDistanceSuggestion() {
        #expect(Validation.editDistance("auth_failure_dely", "auth_failure_delay") == 1)
        #expect(Validation.suggestion(for: "ssl_min_protocl", among: Registry.global.names) == "ssl_min_protocol")
        #expect(Validation.suggestion(for: "completely_unrelated_name", among: Registry.global.names) == nil)
    }

    @Test func cipherLists() {
        #expect(CipherList.problem(in: Registry.modernCipherList) == nil)
        #expect(CipherList.problem(in: "HIGH:!aNULL:!MD5:@STRENGTH") == nil)
        #expect(CipherList.problem(in: "ECDHE+AESGCM:ECDHE+CHACHA20") == nil)
        #expect(CipherList.problem(in: "BOGUS-CIPHER") != nil)
        #expect(CipherList.problem(in: "HIGH;rm -rf") != nil)
        #expect(CipherList.problem(in: "") != nil)
        #expect(CipherList.weakParts(in: "HIGH:RC4:!MD5") == ["RC4"])
    }

    @Test func variableTranslation() {
        #expect(Renames.translateVariables("%Lu") == "%{user | lower}")
        #expect(Renames.translateVariables("/var/mail/%d/%n") == "/var/mail/%{user | domain}/%{user | username}")
        #expect(Renames.translateVariables("%{user}") == nil)
    }
}
