import AerieAuth
import Testing

@testable import AerieServer

/// What the auth supervisor agrees to write for the worker (rehash on login): configured passwd-files only, a hash
/// of the configured strength only.
@Suite struct AuthRehashWriterTests {
    @Test func theSupervisorWritesOnlyConfiguredFilesAndStrongHashes() throws {
        var configuration = AuthServiceConfiguration(passdbs: [
            PassDBSpec(name: "main", path: "/etc/dovecot/users"),
            PassDBSpec(name: "per-domain", path: "/etc/dovecot/%{user|domain}/users"),
            PassDBSpec(name: "deny", path: "/etc/dovecot/deny", deny: true),
        ])
        #expect(AuthRehashWriter.Policy(configuration) == nil, "off unless auth_rehash_scheme is set")
        configuration.rehashTarget = RehashTarget(parsing: "ARGON2ID")
        let policy = try #require(AuthRehashWriter.Policy(configuration))
        #expect(policy.paths == ["/etc/dovecot/users"])
        let strong = try PasswordSchemes.hash(password: "pw", scheme: "ARGON2ID")
        let weak = try PasswordSchemes.hash(password: "pw", scheme: "SHA512-CRYPT")
        #expect(policy.refusal(path: "/etc/dovecot/users", user: "alice", expected: weak, replacement: strong) == nil)
        #expect(policy.refusal(path: "/etc/shadow", user: "root", expected: weak, replacement: strong) != nil)
        #expect(policy.refusal(path: "/etc/dovecot/deny", user: "alice", expected: weak, replacement: strong) != nil)
        #expect(policy.refusal(path: "/etc/dovecot/users", user: "alice", expected: strong, replacement: weak) != nil)
        #expect(policy.refusal(path: "/etc/dovecot/users", user: "alice", expected: weak, replacement: "{PLAIN}pw")
            != nil)
        #expect(policy.refusal(path: "/etc/dovecot/users", user: "a:b", expected: weak, replacement: strong) != nil)
        #expect(policy.refusal(path: "/etc/dovecot/users", user: "alice", expected: weak, replacement: strong + "\nx")
            != nil)
    }
}
