import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Sequence sets")
struct SequenceSetTests {
    static func set(_ text: String) throws(ParseFailure) -> SequenceSet {
        var cursor = ByteCursor(bytes(text))
        let set = try cursor.parseSequenceSet()
        try cursor.expectEnd(orElse: "leftover")
        return set
    }

    /// Input, and its normalised wire form.
    static let successes: [(String, String)] = [
        ("1", "1"),
        ("*", "*"),
        ("$", "$"),
        ("1:5", "1:5"),
        ("5:1", "1:5"),
        ("*:3", "3:*"),
        ("3,1,2", "1:3"),
        ("1:3,2:6,8", "1:6,8"),
        ("10:12,1,4:5", "1,4:5,10:12"),
        ("1:5,3:*", "1:*"),
        ("1:2,7:*", "1:2,7:*"),
        ("1:2,3:*", "1:*"),
        ("*:5,10:3,*:1", "1:*"),
        ("9:*,1:3", "1:3,9:*"),
        ("*,5:*,9:*", "5:*"),
        ("*,1", "1,*"),
        ("4294967295", "4294967295"),
        ("1:4294967295,4294967295", "1:4294967295"),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ normalized: String) throws {
        let parsed = try Self.set(input)
        #expect(parsed.description == normalized)
        #expect(try Self.set(normalized) == parsed)
    }

    static let failures: [String] = ["", "0", "1:0", "a", "1,", ",1", "1::2", "1:", "$,1", "$:3", "1,$", "4294967296", "-1", "1.2", "01x"]

    @Test(arguments: failures)
    func refuses(_ input: String) {
        #expect(throws: ParseFailure.self) { try Self.set(input) }
    }

    @Test func incompleteWhenStreaming() {
        var cursor = ByteCursor([], isComplete: false)
        #expect(throws: ParseFailure.incomplete) { try cursor.parseSequenceSet() }
    }

    @Test func containsResolvesStar() throws {
        let set = try Self.set("2:4,7,10:*")
        #expect(!set.contains(1, max: 20))
        #expect(set.contains(2, max: 20))
        #expect(set.contains(4, max: 20))
        #expect(!set.contains(5, max: 20))
        #expect(set.contains(7, max: 20))
        #expect(set.contains(15, max: 20))
        #expect(set.contains(20, max: 20))
        // RFC 9051 §6.4.8: 10:* with max 8 is 8:10.
        #expect(set.contains(8, max: 8))
        #expect(!set.contains(9, max: 8))
        #expect(!set.contains(0, max: 8))
        #expect(try Self.set("*").contains(5, max: 5))
        #expect(!(try Self.set("*").contains(4, max: 5)))
        #expect(!SequenceSet.searchResult.contains(1, max: 5))
    }

    @Test func expandedIsBounded() throws {
        #expect(try Self.set("1:3,5,9:*").expanded(max: 10, limit: 100) == [1, 2, 3, 5, 9, 10])
        #expect(try Self.set("1:*").expanded(max: 0, limit: 100) == [])
        #expect(try Self.set("5:*").expanded(max: 3, limit: 100) == [3])
        #expect(try Self.set("2,4:7").expanded(max: 5, limit: 100) == [2, 4, 5])
        #expect(try Self.set("1:4294967295").expanded(max: .max, limit: 1_000_000) == nil)
        #expect(try Self.set("1:10").expanded(max: 100, limit: 10)?.count == 10)
        #expect(try Self.set("1:10").expanded(max: 100, limit: 9) == nil)
        #expect(SequenceSet.searchResult.expanded(max: 10, limit: 10) == nil)
    }

    @Test func fromNumbers() {
        #expect(SequenceSet(numbers: [5, 1, 2, 3, 9, 4]).description == "1:5,9")
        #expect(SequenceSet(numbers: []).description == "")
    }

    /// Brute force: normalisation never changes membership, for every max.
    @Test func normalisationKeepsMembership() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let ranges = (0..<Int.random(in: 1...6, using: &random)).map { _ -> (SequenceSet.Element, SequenceSet.Element) in
                func element() -> SequenceSet.Element {
                    Int.random(in: 0..<5, using: &random) == 0 ? .last : .number(UInt32.random(in: 1...12, using: &random))
                }
                return (element(), element())
            }
            let text = ranges.map { "\($0.0):\($0.1)" }.joined(separator: ",")
            let set = try Self.set(text)
            for max in UInt32(0)...14 {
                for n in UInt32(1)...15 {
                    let expected = ranges.contains { range in
                        let a = range.0 == .last ? max : { if case .number(let v) = range.0 { v } else { 0 } }()
                        let b = range.1 == .last ? max : { if case .number(let v) = range.1 { v } else { 0 } }()
                        return n <= max && n >= Swift.min(a, b) && n <= Swift.max(a, b)
                    }
                    #expect(set.contains(n, max: max) == expected, "\(text) max \(max) n \(n)")
                }
            }
        }
    }
}
