import IMAPProtocol

/// RFC 5256 §3 SORT (with RFC 5957 DISPLAYFROM / DISPLAYTO): messages ordered by the criteria in turn, REVERSE
/// flipping one criterion; messages equal under every criterion keep their mailbox (sequence) order.
enum MessageSorter {
    static func sort(_ messages: [SortMessage], by criteria: [SortCriterion]) -> [SortMessage] {
        messages.sorted { a, b in
            for criterion in criteria {
                let order = compare(a, b, criterion.key)
                if order != 0 { return criterion.reverse ? order > 0 : order < 0 }
            }
            return a.sequence < b.sequence
        }
    }

    /// The header-derived keys these criteria read.
    static func fields(for criteria: [SortCriterion]) -> SortFields {
        var fields: SortFields = []
        for criterion in criteria {
            switch criterion.key {
            case .arrival, .size: break
            case .date: fields.insert(.sentDate)
            case .subject: fields.insert(.subject)
            case .from: fields.insert(.from)
            case .to: fields.insert(.to)
            case .cc: fields.insert(.cc)
            case .displayFrom: fields.insert(.displayFrom)
            case .displayTo: fields.insert(.displayTo)
            }
        }
        return fields
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b` under one key.
    static func compare(_ a: SortMessage, _ b: SortMessage, _ key: SortCriterion.Key) -> Int {
        switch key {
        case .arrival: compare(a.arrival, b.arrival)
        case .date: compare(a.sentDate, b.sentDate)
        case .size: compare(a.size, b.size)
        case .subject: compare(a.subject, b.subject)
        case .from: compare(a.from, b.from)
        case .to: compare(a.to, b.to)
        case .cc: compare(a.cc, b.cc)
        case .displayFrom: compare(a.displayFrom, b.displayFrom)
        case .displayTo: compare(a.displayTo, b.displayTo)
        }
    }

    static func compare<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }

    /// Octet by octet, a prefix first (the keys are already case-folded).
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return compare(a.count, b.count)
    }

    /// RFC 5256 §2.2 with the mailbox-order tie-break: is `a` sent before `b`?
    static func sentBefore(_ a: SortMessage, _ b: SortMessage) -> Bool {
        a.sentDate != b.sentDate ? a.sentDate < b.sentDate : a.sequence < b.sequence
    }
}
