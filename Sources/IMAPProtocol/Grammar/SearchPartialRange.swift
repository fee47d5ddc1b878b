/// The PARTIAL return option's range of result positions (RFC 5267 §4.4), 1-based and inclusive.
public struct SearchPartialRange: Sendable, Hashable {
    public var first: UInt32
    public var last: UInt32

    /// The bounds in either order, as Dovecot accepts `4:2` for `2:4`; both must be non-zero.
    public init(_ a: UInt32, _ b: UInt32) {
        first = Swift.min(a, b)
        last = Swift.max(a, b)
    }

    /// The part of `results` (in result order) that the range covers; empty when it starts past the end.
    public func slice(_ results: [UInt32]) -> ArraySlice<UInt32> {
        let start = Int(first) - 1
        guard start < results.count else { return [] }
        return results[start..<Swift.min(results.count, Int(last))]
    }
}

extension ByteCursor {
    /// RFC 5267 §4.4: `partial-range = nz-number ":" nz-number`.
    mutating func parseSearchPartialRange() throws(ParseFailure) -> SearchPartialRange {
        let message = IMAPParseError.Message.invalidPartialRange
        let first = try parseNZNumber(message)
        try expect(0x3A, orElse: message)  // ":"
        let last = try parseNZNumber(message)
        return SearchPartialRange(first, last)
    }
}

extension IMAPParseError.Message {
    public static let invalidPartialRange = "PARTIAL range broken"
    public static let partialWithAll = "PARTIAL conflicts with ALL"
}
