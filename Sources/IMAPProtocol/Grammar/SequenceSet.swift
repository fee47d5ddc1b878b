/// A set of message sequence numbers or UIDs as a client sends it.
///
/// RFC 9051 §9: `sequence-set = (seq-number / seq-range) ["," sequence-set]`, `seq-number = nz-number / "*"`,
/// `seq-range = seq-number ":" seq-number`; RFC 5182 §4 (SEARCHRES) adds `sequence-set =/ "$"`.
/// `*` is the largest number in use, known only when the set is applied (`max`).
///
/// Normalised on creation: each range has `lower <= upper` (`*` is above every number), numeric ranges
/// are sorted and merged, and at most one range ends in `*` (last). Membership in `1...max` is the same
/// for every `max` (RFC 9051 §6.4.8 reads `n:*` with n > max as `max:n`, so it holds `max`).
public struct SequenceSet: Sendable, Hashable, CustomStringConvertible {
    /// Most ranges one set may have as sent (RFC 9051 §9 puts no bound; Dovecot bounds too).
    public static let maximumRanges = 100_000

    /// One end of a range: a number or `*`.
    public enum Element: Sendable, Hashable, Comparable, CustomStringConvertible {
        case number(UInt32)
        /// `*`: the highest sequence number or UID in the mailbox.
        case last

        public var description: String {
            switch self {
            case .number(let n): String(n)
            case .last: "*"
            }
        }

        func resolved(max: UInt32) -> UInt32 {
            switch self {
            case .number(let n): n
            case .last: max
            }
        }
    }

    /// `lower:upper`, with `lower <= upper`; a single number has `lower == upper`.
    public struct Range: Sendable, Hashable, CustomStringConvertible {
        public var lower: Element
        public var upper: Element

        public init(_ a: Element, _ b: Element) {
            (lower, upper) = a <= b ? (a, b) : (b, a)
        }

        public var description: String { lower == upper ? lower.description : "\(lower):\(upper)" }
    }

    /// The normalised ranges; empty when `isSearchResult`.
    public private(set) var ranges: [Range]
    /// True for `$` (RFC 5182): the session substitutes the saved SEARCH result.
    public private(set) var isSearchResult: Bool

    /// A set of the given ranges, normalised.
    public init(_ ranges: [Range]) {
        self.ranges = Self.normalized(ranges)
        self.isSearchResult = false
    }

    /// A set holding exactly `numbers` (in any order, duplicates allowed).
    public init(numbers: some Sequence<UInt32>) {
        self.init(numbers.map { Range(.number($0), .number($0)) })
    }

    /// `$`: the result saved by `SEARCH RETURN (SAVE)` (RFC 5182).
    public static let searchResult: SequenceSet = {
        var set = SequenceSet([])
        set.isSearchResult = true
        return set
    }()

    /// `1:*`.
    public static let all = SequenceSet([Range(.number(1), .last)])

    /// The compact wire form, e.g. `1:3,5,9:*`, or `$`.
    public var description: String {
        isSearchResult ? "$" : ranges.map(\.description).joined(separator: ",")
    }

    /// True if `n` is in the set when the mailbox's highest number is `max` (`*` = `max`). Only
    /// `1...max` can be members (no message has another number). Always false for `$`, which the
    /// session must resolve first.
    public func contains(_ n: UInt32, max: UInt32) -> Bool {
        guard !isSearchResult, n >= 1, n <= max else { return false }
        if let tail = ranges.last, tail.upper == .last {
            let a = tail.lower.resolved(max: max)
            let (low, high) = a <= max ? (a, max) : (max, a)
            if n >= low, n <= high { return true }
        }
        // Numeric ranges are sorted and disjoint: binary search.
        var low = 0
        var high = ranges.count - (ranges.last?.upper == .last ? 1 : 0)
        while low < high {
            let mid = (low + high) / 2
            let range = ranges[mid]
            if n < range.lower.resolved(max: max) {
                high = mid
            } else if n > range.upper.resolved(max: max) {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// Every number of the set in ascending order, limited to `1...max` for sequence numbers
    /// (pass the highest UID for UID sets); nil if there would be more than `limit`, or for `$`.
    public func expanded(max: UInt32, limit: Int) -> [UInt32]? {
        guard !isSearchResult else { return nil }
        var spans: [ClosedRange<UInt32>] = []
        for range in ranges {
            let a = range.lower.resolved(max: max)
            let b = range.upper.resolved(max: max)
            var low = Swift.min(a, b)
            let high = Swift.min(Swift.max(a, b), max)
            low = Swift.max(low, 1)
            guard low <= high else { continue }
            if let previous = spans.last, previous.upperBound >= low {
                spans[spans.count - 1] = previous.lowerBound...Swift.max(previous.upperBound, high)
            } else {
                spans.append(low...high)
            }
        }
        var total = 0
        for span in spans {
            total += Int(span.upperBound - span.lowerBound) + 1
            if total > limit { return nil }
        }
        var numbers: [UInt32] = []
        numbers.reserveCapacity(total)
        for span in spans { numbers.append(contentsOf: span) }
        return numbers
    }

    static func normalized(_ input: [Range]) -> [Range] {
        var numeric: [(UInt32, UInt32)] = []
        numeric.reserveCapacity(input.count)
        var tailStart: Element?
        for range in input {
            switch (range.lower, range.upper) {
            case (.number(let a), .number(let b)):
                numeric.append((a, b))
            case (let lower, .last):
                tailStart = tailStart.map { Swift.min($0, lower) } ?? lower
            case (.last, .number):
                break  // impossible: lower <= upper
            }
        }
        // Clients nearly always send ascending sets: skip the sort then.
        if zip(numeric, numeric.dropFirst()).contains(where: { $0.0 > $1.0 }) { numeric.sort { $0.0 < $1.0 } }
        var merged: [Range] = []
        var current: (UInt32, UInt32)?
        for (a, b) in numeric {
            if let (low, high) = current, UInt64(a) <= UInt64(high) + 1 {
                current = (low, Swift.max(high, b))
            } else {
                if let (low, high) = current { merged.append(Range(.number(low), .number(high))) }
                current = (a, b)
            }
        }
        if let (low, high) = current { merged.append(Range(.number(low), .number(high))) }
        if var start = tailStart {
            // A numeric range touching `n:*` joins it (see the type's comment: exact for every max).
            while case .number(let n) = start, let previous = merged.last, case .number(let high) = previous.upper,
                UInt64(high) + 1 >= UInt64(n)
            {
                start = Swift.min(previous.lower, start)
                merged.removeLast()
            }
            merged.append(Range(start, .last))
        }
        return merged
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `sequence-set = (seq-number / seq-range) ["," sequence-set]`,
    /// `seq-range = seq-number ":" seq-number`, `seq-number = nz-number / "*"`; RFC 5182 §4: `/ "$"`.
    /// Refused once it has more than `SequenceSet.maximumRanges` ranges, before any more is read.
    mutating func parseSequenceSet() throws(ParseFailure) -> SequenceSet {
        if consume(0x24 /* $ */) {
            if let next = peek, next == 0x2C || next == 0x3A || next.isDigit || next == ASCII.asterisk {
                throw .syntax(IMAPParseError.Message.invalidSequenceSet)
            }
            return .searchResult
        }
        guard !isAtEnd else { throw endOfInput(IMAPParseError.Message.invalidSequenceSet) }
        var ranges: [Range] = []
        while true {
            guard ranges.count < SequenceSet.maximumRanges else {
                throw .syntax(IMAPParseError.Message.sequenceSetTooLong)
            }
            let first = try parseSequenceElement()
            var second = first
            if consume(0x3A /* : */) { second = try parseSequenceElement() }
            ranges.append(Range(first, second))
            if !consume(0x2C /* , */) { break }
        }
        if let next = peek, next != ASCII.space, next != ASCII.closeParen {
            throw .syntax(IMAPParseError.Message.invalidSequenceSet)
        }
        return SequenceSet(ranges)
    }

    private typealias Range = SequenceSet.Range

    /// RFC 9051 §9: `seq-number = nz-number / "*"`.
    private mutating func parseSequenceElement() throws(ParseFailure) -> SequenceSet.Element {
        if consume(ASCII.asterisk) { return .last }
        return .number(try parseNZNumber(IMAPParseError.Message.invalidSequenceSet))
    }

    /// True if a sequence set could start here (a digit, `*` or `$`): how SEARCH tells it from a key.
    var atSequenceSet: Bool {
        guard let next = peek else { return false }
        return next.isDigit || next == ASCII.asterisk || next == 0x24
    }
}
