import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Quota, COMPRESS, IDLE and argumentless commands")
struct QuotaAndMiscTests {
    static let successes: [(String, IMAPCommandKind)] = [
        ("a GETQUOTA \"\"", .getQuota("")),
        ("a GETQUOTA \"User quota\"", .getQuota("User quota")),
        ("a SETQUOTA \"\" (STORAGE 512)", .setQuota(root: "", limits: [QuotaLimit(resource: "STORAGE", limit: 512)])),
        (
            "a setquota x (storage 512 message 1000)",
            .setQuota(root: "x", limits: [QuotaLimit(resource: "STORAGE", limit: 512), QuotaLimit(resource: "MESSAGE", limit: 1000)])
        ),
        ("a SETQUOTA x ()", .setQuota(root: "x", limits: [])),
        ("a COMPRESS DEFLATE", .compress("DEFLATE")),
        ("a compress deflate", .compress("DEFLATE")),
        ("a IDLE", .idle),
        ("a CHECK", .check),
        ("a CLOSE", .close),
        ("a UNSELECT", .unselect),
        ("a EXPUNGE", .expunge),
        ("a UNAUTHENTICATE", .unauthenticate),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a GETQUOTA", "Missing quota root"),
        ("a SETQUOTA x", "Missing quota limits"),
        ("a SETQUOTA x (STORAGE)", "Missing quota limits"),
        ("a SETQUOTA x (STORAGE x)", "Invalid number"),
        ("a SETQUOTA x (STORAGE 99999999999999999999)", "Invalid number"),
        ("a COMPRESS", "Missing compression algorithm"),
        ("a COMPRESS DEFLATE x", "Unexpected arguments"),
        ("a IDLE x", "Unexpected arguments"),
        ("a EXPUNGE 1", "Unexpected arguments"),
        ("a UNAUTHENTICATE x", "Unexpected arguments"),
        ("a DONE", "Unknown command DONE"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func idleDone() {
        #expect(IMAPCommandParser.parseIdleDone(bytes("DONE")))
        #expect(IMAPCommandParser.parseIdleDone(bytes("done")))
        #expect(!IMAPCommandParser.parseIdleDone(bytes("DONE ")))
        #expect(!IMAPCommandParser.parseIdleDone(bytes("a DONE")))
        #expect(!IMAPCommandParser.parseIdleDone(bytes("")))
        #expect(frameWhole(bytes("a IDLE\r\nDONE\r\n")) == [.unit(bytes("a IDLE")), .unit(bytes("DONE"))])
    }
}
