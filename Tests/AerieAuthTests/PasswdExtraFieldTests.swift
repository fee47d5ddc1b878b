import AerieCore
@testable import AerieAuth
import AerieTestSupport
import Foundation
import Testing

/// Issue 15: passwd-file extra fields that restrict a login are enforced; passdbs and userdbs of a
/// `protocol NAME { }` filter serve that protocol only.
extension AuthServiceTests {
    /// A second passwd-file with the given lines becomes the only passdb and userdb.
    func withLines(_ lines: [String], protocols: [String] = [],
                   _ body: (AuthService, CollectingLog, String) async throws -> Void) async throws {
        let hash = try PasswordSchemes.hash(password: Self.password, scheme: "SHA512-CRYPT")
        try await withService(configure: { configuration, dir in
            let file = dir.appendingPathComponent("restricted")
            try lines.map { $0.replacingOccurrences(of: "HASH", with: hash) }.joined(separator: "\n")
                .write(to: file, atomically: false, encoding: .utf8)
            var passdb = PassDBSpec(name: "restricted", path: file.path)
            passdb.protocols = protocols
            configuration.passdbs = [passdb]
            configuration.userdbs = [UserDBSpec(name: "restricted", path: file.path)]
        }, body)
    }

    func from(_ ip: String, _ user: String, service: String = "imap") -> AuthRequest {
        AuthRequest(user: user, password: Self.password, mechanism: "PLAIN", service: service, remoteIP: ip,
                    localIP: "192.0.2.1", secured: true)
    }

    @Test func allowNetsRefusesOtherNetworksLikeAWrongPassword() async throws {
        try await withLines([
            "v4:HASH:1000:1000::/home/v4::allow_nets=10.0.0.0/8,192.0.2.7",
            "v6:HASH:1000:1000::/home/v6::allow_nets=2001:db8::/32",
            "bad:HASH:1000:1000::/home/bad::allow_nets=10.0.0.300/8",
        ]) { service, log, _ in
            #expect(await service.authenticate(from("10.1.2.3", "v4")).isSuccess)
            #expect(await service.authenticate(from("192.0.2.7", "v4")).isSuccess)
            #expect(await service.authenticate(from("::ffff:10.9.9.9", "v4")).isSuccess)
            #expect(await service.authenticate(from("192.0.2.8", "v4")) == .failure(.passwordMismatch))
            #expect(await service.authenticate(from("2001:db8:1::5", "v6")).isSuccess)
            #expect(await service.authenticate(from("2001:db9::5", "v6")) == .failure(.passwordMismatch))
            #expect(await service.authenticate(from("10.0.0.1", "v6")) == .failure(.passwordMismatch))
            #expect(await service.authenticate(from("10.0.0.1", "bad")) == .failure(.passwordMismatch))
            let messages = log.lines.map(\.message)
            #expect(messages.contains("passwd-file(v4,192.0.2.8): allow_nets check failed: IP 192.0.2.8 not in allowed networks"))
            #expect(messages.contains { $0.contains("allow_nets: invalid network 10.0.0.300/8") })
        }
    }

    @Test func nologinRefusesACorrectPassword() async throws {
        try await withLines(["off:HASH:1000:1000::/home/off::nologin reason=Account_moved"]) { service, log, _ in
            #expect(await service.authenticate(from("192.0.2.7", "off")) == .failure(.denied))
            #expect(log.lines.map(\.message).contains("passwd-file(off,192.0.2.7): Login disabled by nologin (Account_moved)"))
        }
    }

    @Test func ignoredExtraFieldsAreLoggedOncePerLoad() async throws {
        try await withLines([
            "a:HASH:1000:1000::/home/a::userdb_mail=mbox:~/mail proxy",
            "b:HASH:1000:1000::/home/b::proxy",
        ]) { service, log, _ in
            _ = await service.authenticate(from("192.0.2.7", "a"))
            _ = await service.authenticate(from("192.0.2.7", "b"))
            let ignored = log.lines.filter { $0.message.contains("is ignored by Aerie") }.map(\.message)
            #expect(ignored.count == 2, "\(ignored)")
            #expect(ignored.allSatisfy { $0.contains("line 1: extra field") })
        }
    }

    @Test func passdbOfAProtocolServesOnlyThatProtocol() async throws {
        try await withLines(["popper:HASH:1000:1000::/home/p"], protocols: ["pop3"]) { service, _, _ in
            #expect(await service.authenticate(from("192.0.2.7", "popper", service: "pop3")).isSuccess)
            #expect(await service.authenticate(from("192.0.2.7", "popper", service: "imap")) == .failure(.unknownUser))
        }
    }
}

extension AuthResult {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
