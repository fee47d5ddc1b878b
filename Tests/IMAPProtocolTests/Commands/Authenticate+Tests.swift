import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("AUTHENTICATE")
struct AuthenticateTests {
    static let successes: [(String, IMAPCommandKind, String)] = [
        ("a AUTHENTICATE PLAIN", .authenticate(mechanism: "PLAIN", initialResponse: nil), "a AUTHENTICATE PLAIN"),
        ("a authenticate plain", .authenticate(mechanism: "PLAIN", initialResponse: nil), "a authenticate plain"),
        ("a AUTHENTICATE SCRAM-SHA-256", .authenticate(mechanism: "SCRAM-SHA-256", initialResponse: nil), "a AUTHENTICATE SCRAM-SHA-256"),
        (
            "a AUTHENTICATE PLAIN AGJvYgBodW50ZXIy", .authenticate(mechanism: "PLAIN", initialResponse: "AGJvYgBodW50ZXIy"),
            "a AUTHENTICATE PLAIN <hidden>"
        ),
        ("a AUTHENTICATE PLAIN dGVzdA==", .authenticate(mechanism: "PLAIN", initialResponse: "dGVzdA=="), "a AUTHENTICATE PLAIN <hidden>"),
        ("a AUTHENTICATE PLAIN dGVzdDE=", .authenticate(mechanism: "PLAIN", initialResponse: "dGVzdDE="), "a AUTHENTICATE PLAIN <hidden>"),
        ("a AUTHENTICATE EXTERNAL =", .authenticate(mechanism: "EXTERNAL", initialResponse: "="), "a AUTHENTICATE EXTERNAL <hidden>"),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind, _ description: String) throws {
        let command = try parse(input)
        #expect(command.kind == kind)
        #expect(command.redactedDescription == description)
    }

    static let failures: [(String, String)] = [
        ("a AUTHENTICATE", "Missing SASL mechanism"),
        ("a AUTHENTICATE ", "Missing SASL mechanism"),
        ("a AUTHENTICATE  PLAIN", "Double spaces"),
        ("a AUTHENTICATE \"PLAIN\"", "Invalid characters in SASL mechanism"),
        ("a AUTHENTICATE PLAIN ", "Trailing space"),
        ("a AUTHENTICATE PLAIN  AGJv", "Double spaces"),
        ("a AUTHENTICATE PLAIN AGJ", "Invalid base64 in initial response"),
        ("a AUTHENTICATE PLAIN ==", "Invalid base64 in initial response"),
        ("a AUTHENTICATE PLAIN A===", "Invalid base64 in initial response"),
        ("a AUTHENTICATE PLAIN AG=v", "Invalid base64 in initial response"),
        ("a AUTHENTICATE PLAIN *", "Invalid base64 in initial response"),
        ("a AUTHENTICATE PLAIN AGJv AGJv", "Unexpected arguments"),
        ("a AUTHENTICATE PLAIN AGJv!", "Unexpected arguments"),
        ("a AUTHENTICATE PLAIN {4}\r\nAGJv", "Invalid base64 in initial response"),
        ("a AUTHENTICATE " + String(repeating: "M", count: 257), "Too long SASL mechanism"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func continuationLines() {
        #expect(SASLResponseLine.parse(bytes("*")) == .cancel)
        #expect(SASLResponseLine.parse(bytes("")) == .data(""))
        #expect(SASLResponseLine.parse(bytes("AGJvYgBodW50ZXIy")) == .data("AGJvYgBodW50ZXIy"))
        #expect(SASLResponseLine.parse(bytes("**")) == .data("**"))
        #expect(SASLResponseLine.parse(bytes("=")) == .data("="))
    }

    @Test func continuationLinesComeThroughTheFramer() {
        let events = frameWhole(bytes("a AUTHENTICATE PLAIN\r\nAGJvYgBodW50ZXIy\r\n*\r\n"))
        #expect(events == [.unit(bytes("a AUTHENTICATE PLAIN")), .unit(bytes("AGJvYgBodW50ZXIy")), .unit(bytes("*"))])
    }
}
