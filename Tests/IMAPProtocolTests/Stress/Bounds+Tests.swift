import AerieTestSupport
import Testing

@testable import IMAPProtocol

/// Hostile input gets a prompt BAD with bounded work, never a crash or an unbounded allocation.
@Suite("Stress: parser bounds")
struct BoundsStressTests {
    /// Parses `unit` and returns the BAD message. (Quadratic work on these inputs would show as a hung test run;
    /// speed itself is measured in bench/, not here.)
    static func refusal(_ unit: [UInt8]) -> String? {
        do {
            _ = try IMAPCommandParser.parse(unit)
            return nil
        } catch {
            return error.message
        }
    }

    static func unit(_ prefix: String, repeating piece: String, count: Int, separator: String, suffix: String) -> [UInt8] {
        var out = bytes(prefix)
        let pieceBytes = bytes(piece)
        let separatorBytes = bytes(separator)
        out.reserveCapacity(out.count + count * (pieceBytes.count + separatorBytes.count) + suffix.utf8.count)
        for index in 0..<count {
            if index > 0 { out.append(contentsOf: separatorBytes) }
            out.append(contentsOf: pieceBytes)
        }
        out.append(contentsOf: bytes(suffix))
        return out
    }

    @Test func millionRangeSequenceSetIsRefused() {
        // 1,000,000 ranges "1:2,1:2,…" — about 4 MB.
        let input = Self.unit("a FETCH ", repeating: "1:2", count: 1_000_000, separator: ",", suffix: " FLAGS")
        #expect(Self.refusal(input) == "Sequence set too long")
    }

    @Test func sequenceSetAtTheBoundParses() throws {
        var numbers: [String] = []
        numbers.reserveCapacity(SequenceSet.maximumRanges)
        for n in 0..<SequenceSet.maximumRanges { numbers.append(String(n * 2 + 1)) }
        let command = try IMAPCommandParser.parse(bytes("a UID FETCH " + numbers.joined(separator: ",") + " UID"))
        guard case .fetch(let fetch) = command.kind else {
            Issue.record("not FETCH")
            return
        }
        #expect(fetch.sequence.ranges.count == SequenceSet.maximumRanges)
        #expect(fetch.sequence.contains(199_999, max: 200_000))
        #expect(!fetch.sequence.contains(199_998, max: 200_000))
    }

    @Test(arguments: ["(", "NOT ", "OR ALL "])
    func thousandDeepSearchIsRefused(_ opener: String) {
        let closer = opener == "(" ? ")" : ""
        let input = bytes("a SEARCH " + String(repeating: opener, count: 1000) + "ALL" + String(repeating: closer, count: 1000))
        #expect(Self.refusal(input) == "SEARCH nested too deep")
    }

    @Test func hugeDeepSearchIsRefused() {
        let input = bytes("a UID SEARCH " + String(repeating: "(", count: 1_000_000))
        #expect(Self.refusal(input) == "SEARCH nested too deep")
    }

    @Test func hugeFetchListsAreRefused() {
        let attributes = Self.unit("a FETCH 1:* (", repeating: "FLAGS", count: 100_000, separator: " ", suffix: ")")
        #expect(Self.refusal(attributes) == "Too many FETCH attributes")
        let fields = Self.unit("a FETCH 1 BODY.PEEK[HEADER.FIELDS (", repeating: "X-Header", count: 100_000, separator: " ", suffix: ")]")
        #expect(Self.refusal(fields) == "Too many header fields")
        let parts = Self.unit("a FETCH 1 BODY[", repeating: "1", count: 100_000, separator: ".", suffix: "]")
        #expect(Self.refusal(parts) == "Invalid body section")
    }

    @Test func otherListsAreBounded() {
        #expect(Self.refusal(Self.unit("a STORE 1 +FLAGS (", repeating: "k", count: 100_000, separator: " ", suffix: ")")) == "Too many flags")
        #expect(Self.refusal(Self.unit("a STORE 1 +FLAGS ", repeating: "k", count: 100_000, separator: " ", suffix: "")) == "Too many flags")
        #expect(Self.refusal(Self.unit("a APPEND INBOX (", repeating: "\\Seen", count: 100_000, separator: " ", suffix: ") {1}\r\nx")) == "Too many flags")
        #expect(Self.refusal(Self.unit("a SEARCH ", repeating: "SEEN", count: 100_000, separator: " ", suffix: "")) == "Too many SEARCH keys")
        #expect(Self.refusal(Self.unit("a SEARCH (", repeating: "SEEN", count: 100_000, separator: " ", suffix: ")")) == "Too many SEARCH keys")
        #expect(Self.refusal(Self.unit("a LIST \"\" (", repeating: "%", count: 100_000, separator: " ", suffix: ")")) == "Too many mailbox patterns")
        #expect(Self.refusal(Self.unit("a SORT (", repeating: "DATE", count: 100_000, separator: " ", suffix: ") UTF-8 ALL")) == "Too many SORT criteria")
        #expect(Self.refusal(Self.unit("a APPEND INBOX ", repeating: "{1}\r\nx", count: 2000, separator: " ", suffix: "")) == "Too many messages in APPEND")
        #expect(Self.refusal(bytes("a SELECT " + String(repeating: "m", count: 100_000))) == "Mailbox name too long")
        #expect(Self.refusal(bytes("a FETCH 1:" + String(repeating: "9", count: 100_000) + " FLAGS")) == "Invalid sequence set")
    }
}
