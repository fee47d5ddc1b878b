import AerieConfig
@testable import AerieObservability
import AerieTestSupport
import Foundation
import Testing

@testable import AerieServer

@Suite final class FileSafetyTests {
    /// Swift Testing makes one suite instance per test: each test's files go when it ends.
    let root = makeTempDirectory("server-files")
    deinit { removeTree(root) }

    /// A directory made the way the server makes its own (mode 0700), inside this test's `root`.
    func temporaryDirectory() throws -> String {
        let path = root + "/secure"
        try SecureFile.makeDirectory(path)
        return path
    }

    func mode(_ path: String) -> Int {
        var info = stat()
        stat(path, &info)
        return Int(info.st_mode & 0o777)
    }

    @Test func createdFilesHaveTheirModeFromTheStartAndAreNeverOverwritten() throws {
        let dir = try temporaryDirectory()
        #expect(mode(dir) == 0o700)
        try SecureFile.createExclusive(path: dir + "/secret", contents: "x", mode: 0o600)
        #expect(mode(dir + "/secret") == 0o600)
        #expect(throws: ServerStartError.self) {
            try SecureFile.createExclusive(path: dir + "/secret", contents: "y", mode: 0o600)
        }
        #expect(try String(contentsOfFile: dir + "/secret", encoding: .utf8) == "x")
    }

    @Test func selfSignedCertificateLoadsIntoATLSContext() throws {
        let dir = try temporaryDirectory()
        try SelfSignedCertificate.generate(in: dir)
        #expect(mode(dir + "/key.pem") == 0o600)
        let settings = try ConfigLoader.load(
            text: "ssl_server_cert_file = \(dir)/cert.pem\nssl_server_key_file = \(dir)/key.pem\n",
            path: dir + "/aerie.conf"
        ).settings
        _ = try TLSSetup.makeContext(settings: settings)
    }

    @Test func keyReadableByOthersIsRefused() throws {
        let dir = try temporaryDirectory()
        try SelfSignedCertificate.generate(in: dir)
        chmod(dir + "/key.pem", 0o644)
        let settings = try ConfigLoader.load(
            text: "ssl_server_cert_file = \(dir)/cert.pem\nssl_server_key_file = \(dir)/key.pem\n",
            path: dir + "/aerie.conf"
        ).settings
        do {
            _ = try TLSSetup.makeContext(settings: settings)
            Issue.record("a world-readable key was accepted")
        } catch {
            #expect(error.description.contains("chmod 0600 \(dir)/key.pem"))
        }
    }

    @Test func logLinesCannotBeSplitByClientText() {
        #expect(LogWriter.singleLine("user\r\nauth: Info: forged") == "user??auth: Info: forged")
    }
}
