import Testing

@testable import IMAPProtocol

@Suite("ID")
struct IDTests {
    @Test func nilAndEmpty() throws {
        #expect(try parse("a ID NIL").kind == .id(nil))
        #expect(try parse("a id nil").kind == .id(nil))
        #expect(try parse("a ID ()").kind == .id(IDParameters([])))
    }

    @Test func pairs() throws {
        let command = try parse("a ID (\"name\" \"Thunderbird\" \"version\" NIL \"os\" {5}\r\nLinux)")
        let expected = IDParameters(pairs: [("name", "Thunderbird"), ("version", nil), ("os", "Linux")])
        #expect(command.kind == .id(expected))
        #expect(expected["NAME"] == "Thunderbird")
        #expect(expected["missing"] == nil)
        #expect(command.redactedDescription == "a ID (\"name\" \"Thunderbird\" \"version\" NIL \"os\" {5})")
    }

    @Test func bounds() throws {
        let thirty = (0..<30).map { "\"k\($0)\" \"v\"" }.joined(separator: " ")
        guard case .id(let parameters) = try parse("a ID (\(thirty))").kind else {
            Issue.record("not ID")
            return
        }
        #expect(parameters?.fields.count == 30)
        #expect(parseError("a ID (\(thirty) \"k30\" \"v\")")?.message == "Too many ID parameters")

        let name30 = String(repeating: "n", count: 30)
        #expect(throws: Never.self) { try parse("a ID (\"\(name30)\" NIL)") }
        #expect(parseError("a ID (\"\(name30)n\" NIL)")?.message == "ID field name too long")

        let value1024 = String(repeating: "v", count: 1024)
        #expect(throws: Never.self) { try parse("a ID (\"k\" \"\(value1024)\")") }
        #expect(parseError("a ID (\"k\" \"\(value1024)v\")")?.message == "ID field value too long")
        #expect(parseError("a ID (\"k\" {1025}\r\n\(value1024)v)")?.message == "ID field value too long")
    }

    static let failures: [(String, String)] = [
        ("a ID", "Missing ID parameters"),
        ("a ID  NIL", "Double spaces"),
        ("a ID NILL", "Expected '(' or NIL"),
        ("a ID name", "Expected '(' or NIL"),
        ("a ID (", "Missing ID field name"),
        ("a ID (\"name\")", "Missing ID field value"),
        ("a ID (\"name\" ", "Missing ID field value"),
        ("a ID (\"name\" \"x\"", "Missing ')'"),
        ("a ID (\"name\" \"x\" )", "Expected string for ID field name"),
        ("a ID ( \"name\" \"x\")", "Double spaces"),
        ("a ID (name \"x\")", "Expected string for ID field name"),
        ("a ID (\"name\" x)", "Expected string for ID field value"),
        ("a ID ((\"name\" \"x\"))", "Expected string for ID field name"),
        ("a ID (\"name\" \"x\") extra", "Unexpected arguments"),
        ("a ID NIL ", "Trailing space"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }
}
