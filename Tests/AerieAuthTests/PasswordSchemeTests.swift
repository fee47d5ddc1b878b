@testable import AerieAuth
import Foundation
import Testing

@Suite struct PasswordSchemeVectorTests {
    static let vectors = Fixtures.vectors()

    @Test func fixtureLoaded() {
        #expect(Self.vectors.count >= 70)
    }

    @Test(arguments: vectors)
    func knownVectorVerifies(_ vector: Fixtures.Vector) {
        #expect(PasswordSchemes.verify(password: vector.password, stored: vector.hash, allowWeakSchemes: true) == .match)
        #expect(PasswordSchemes.verify(password: "x" + vector.password, stored: vector.hash, allowWeakSchemes: true) == .mismatch)
    }

    @Test(arguments: vectors)
    func weakVectorsRefusedByDefault(_ vector: Fixtures.Vector) {
        let result = PasswordSchemes.verify(password: vector.password, stored: vector.hash, allowWeakSchemes: false)
        let weakCrypt = vector.scheme == "CRYPT" && (vector.source.hasSuffix("DES") || vector.source.hasSuffix("$1$"))
        if PasswordSchemes.isWeak(scheme: vector.scheme) || weakCrypt {
            guard case .weakSchemeRefused = result else {
                Issue.record("\(vector.scheme) not refused: \(result)")
                return
            }
        } else {
            #expect(result == .match)
        }
    }
}

@Suite struct PasswordSchemeBehaviourTests {
    @Test func bareHashUsesDefaultScheme() throws {
        let stored = try PasswordSchemes.hash(password: "pw", scheme: "SHA512-CRYPT")
        let bare = String(stored.dropFirst("{SHA512-CRYPT}".count))
        #expect(PasswordSchemes.verify(password: "pw", stored: bare, allowWeakSchemes: false) == .match)
        #expect(PasswordSchemes.verify(password: "pw", stored: bare, defaultScheme: "SHA256-CRYPT", allowWeakSchemes: false) == .malformed)
        // A bare $1$ is MD5-CRYPT whatever the default, as Dovecot decides.
        #expect(PasswordSchemes.verify(password: "pw", stored: "$1$abc$def", defaultScheme: "PLAIN", allowWeakSchemes: false) == .weakSchemeRefused("MD5-CRYPT"))
    }

    @Test func unknownAndMalformed() {
        #expect(PasswordSchemes.verify(password: "pw", stored: "{NOPE}abc", allowWeakSchemes: true) == .unknownScheme("NOPE"))
        #expect(PasswordSchemes.verify(password: "pw", stored: "{SHA.ROT13}abc", allowWeakSchemes: true) == .unknownScheme("SHA.ROT13"))
        #expect(PasswordSchemes.verify(password: "pw", stored: "{SHA256}!!!", allowWeakSchemes: true) == .malformed)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{SSHA512}AAAA", allowWeakSchemes: true) == .malformed)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{PBKDF2}$1$salt$0$00", allowWeakSchemes: true) == .malformed)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{ARGON2ID}$scrypt$x", allowWeakSchemes: true) == .malformed)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{SHA512-CRYPT}$5$abc$def", allowWeakSchemes: true) == .malformed)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{CRYPT}", allowWeakSchemes: true) == .mismatch)
        #expect(PasswordSchemes.verify(password: "pw", stored: "{CRAM-MD5}00", allowWeakSchemes: false) == .weakSchemeRefused("CRAM-MD5"))
    }

    @Test func schemeNamesAreCaseInsensitive() throws {
        let stored = try PasswordSchemes.hash(password: "pw", scheme: "ssha256")
        #expect(stored.hasPrefix("{SSHA256}"))
        #expect(PasswordSchemes.verify(password: "pw", stored: "{ssha256}" + stored.dropFirst(9), allowWeakSchemes: false) == .match)
    }

    @Test func nulInPasswordNeverMatches() throws {
        let stored = try PasswordSchemes.hash(password: "abc", scheme: "SHA512-CRYPT")
        #expect(PasswordSchemes.verify(password: "abc\0def", stored: stored, allowWeakSchemes: false) == .mismatch)
        #expect(PasswordSchemes.verify(password: "abc\0", stored: "{PLAIN}abc", allowWeakSchemes: true) == .mismatch)
    }

    @Test func weakness() {
        for scheme in ["PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-TRUNC", "MD5-CRYPT", "PLAIN-MD5", "LDAP-MD5", "SHA", "SHA1", "SSHA", "SMD5", "SHA256", "SHA512", "CRAM-MD5", "PLAIN-MD4", "DES-CRYPT", "sha.hex"] {
            #expect(PasswordSchemes.isWeak(scheme: scheme), "\(scheme)")
        }
        for scheme in ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "CRYPT", "ARGON2ID", "ARGON2I", "PBKDF2", "SSHA512", "SSHA256"] {
            #expect(!PasswordSchemes.isWeak(scheme: scheme), "\(scheme)")
        }
        #expect(PasswordSchemes.supportedSchemes.contains("ARGON2ID"))
    }

    static let generatable = [
        "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "CRYPT", "ARGON2ID", "ARGON2I", "PBKDF2", "SSHA512", "SSHA256",
        "SSHA", "SMD5", "SHA", "SHA1", "SHA256", "SHA512", "PLAIN-MD5", "LDAP-MD5", "MD5-CRYPT", "DES-CRYPT",
        "PLAIN", "CLEAR", "CLEARTEXT", "PLAIN-TRUNC", "SHA256-CRYPT.HEX", "SSHA512.HEX", "SHA.B64", "PLAIN-MD5.B64",
    ]

    /// Low costs keep the suite fast; the default-cost path is covered by the ARGON2I/SHA512-CRYPT defaults below.
    static func rounds(_ scheme: String) -> Int? {
        switch scheme {
        case "BLF-CRYPT": 4
        case "ARGON2ID": 1
        case "PBKDF2": 1000
        default: nil
        }
    }

    @Test(arguments: generatable)
    func hashThenVerify(_ scheme: String) throws {
        let stored = try PasswordSchemes.hash(password: "Pässword 1", scheme: scheme, rounds: Self.rounds(scheme))
        #expect(stored.hasPrefix("{\(scheme.uppercased())}"))
        #expect(PasswordSchemes.verify(password: "Pässword 1", stored: stored, allowWeakSchemes: true) == .match)
        #expect(PasswordSchemes.verify(password: "xPässword 1", stored: stored, allowWeakSchemes: true) == .mismatch)  // prefix: DES reads 8 bytes
    }

    @Test func formatsMatchDoveadm() throws {
        #expect(try PasswordSchemes.hash(password: "p", scheme: "SHA512-CRYPT").wholeMatch(of: /\{SHA512-CRYPT\}\$6\$[.\/0-9A-Za-z]{16}\$[.\/0-9A-Za-z]{86}/) != nil)
        #expect(try PasswordSchemes.hash(password: "p", scheme: "PBKDF2").wholeMatch(of: /\{PBKDF2\}\$1\$[.\/0-9A-Za-z]{16}\$5000\$[0-9a-f]{40}/) != nil)
        #expect(try PasswordSchemes.hash(password: "p", scheme: "ARGON2I").hasPrefix("{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$"))
        #expect(try PasswordSchemes.hash(password: "p", scheme: "BLF-CRYPT", rounds: 5).hasPrefix("{BLF-CRYPT}$2y$05$"))
        #expect(try PasswordSchemes.hash(password: "p", scheme: "PLAIN-MD5") == "{PLAIN-MD5}83878c91171338902e0fe0fb97a8c47a")
        #expect(try PasswordSchemes.hash(password: "p", scheme: "SSHA512").count == "{SSHA512}".count + 92)
        #expect(throws: PasswordHashError.unknownScheme("NOPE")) { try PasswordSchemes.hash(password: "p", scheme: "nope") }
        #expect(throws: PasswordHashError.generationUnsupported("CRAM-MD5")) { try PasswordSchemes.hash(password: "p", scheme: "CRAM-MD5") }
    }

    @Test(.enabled(if: CrossVerify.available)) func aerieHashesVerifyInPython() throws {
        var input = ""
        for scheme in Self.generatable {
            let stored = try PasswordSchemes.hash(password: "Pässword 1", scheme: scheme, rounds: Self.rounds(scheme))
            input += "\(scheme)\tPässword 1\t\(stored)\n"
        }
        let (status, output) = try CrossVerify.run(input)
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(Self.generatable.count)/\(Self.generatable.count) verified"))
    }

    @Test(.enabled(if: CrossVerify.doveadmAvailable)) func aerieHashesVerifyInDoveadm() throws {
        for scheme in ["SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "PBKDF2", "SSHA512", "SSHA256"] {
            let stored = try PasswordSchemes.hash(password: "Pässword 1", scheme: scheme, rounds: Self.rounds(scheme))
            #expect(try CrossVerify.doveadmTest(stored, password: "Pässword 1"), "\(scheme)")
            #expect(try !CrossVerify.doveadmTest(stored, password: "wrong"), "\(scheme)")
        }
    }
}

/// Runs Tests/Fixtures/auth/crossverify.py and `doveadm pw -t` when present.
enum CrossVerify {
    static let script = Fixtures.directory.appendingPathComponent("crossverify.py").path

    static let available: Bool = {
        (try? run("", probe: true).0) == 0
    }()

    static let doveadmAvailable: Bool = FileManager.default.isExecutableFile(atPath: "/usr/bin/doveadm")

    static func run(_ input: String, probe: Bool = false) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = probe ? ["python3", "-c", "import crypt, argon2"] : ["python3", script]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func doveadmTest(_ stored: String, password: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/doveadm")
        process.arguments = ["pw", "-t", stored, "-p", password]
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
