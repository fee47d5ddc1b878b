/// Why a sub-parser failed: the input ended too early, or it is wrong.
///
/// `incomplete` only arises on a cursor that is not `isComplete` (a streaming parse); on a
/// complete command unit, running off the end is a syntax error with a client-facing message.
enum ParseFailure: Error, Equatable {
    /// More bytes might make this parse succeed.
    case incomplete
    /// The bytes can never parse; the message is what the client sees after `TAG BAD `.
    case syntax(String)
}

/// A read position over an immutable byte array, with the combinators the IMAP grammar needs.
///
/// Every `parse…` function either consumes what it parsed, or throws and (inside `composite`)
/// leaves the position where it was.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int
    /// True when `bytes` is all there will ever be (a framed command unit).
    let isComplete: Bool
    /// Caps recursion in nested constructs (parenthesized lists, body sections).
    var nesting: NestingTracker

    init(_ bytes: [UInt8], isComplete: Bool = true, maximumNestingDepth: Int = NestingTracker.defaultMaximumDepth) {
        self.bytes = bytes
        self.position = 0
        self.isComplete = isComplete
        self.nesting = NestingTracker(maximumDepth: maximumNestingDepth)
    }

    var isAtEnd: Bool { position >= bytes.count }
    var remainingCount: Int { bytes.count - position }

    /// The next byte without consuming it, or nil at the end.
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// True at `~{`: RFC 3516 §4.3 literal8. A `~` alone is an ordinary ATOM-CHAR (as in the mailbox `~foo`).
    var isAtLiteral8: Bool {
        peek == ASCII.tilde && position + 1 < bytes.count && bytes[position + 1] == ASCII.openBrace
    }

    /// The failure for "ran out of bytes": incomplete when streaming, else `message`.
    func endOfInput(_ message: String) -> ParseFailure {
        isComplete ? .syntax(message) : .incomplete
    }

    /// Consumes one byte.
    mutating func readByte(orElse message: String = "Unexpected end of command") throws(ParseFailure) -> UInt8 {
        guard position < bytes.count else { throw endOfInput(message) }
        defer { position += 1 }
        return bytes[position]
    }

    /// Consumes `count` bytes.
    mutating func readBytes(_ count: Int, orElse message: String = "Unexpected end of command") throws(ParseFailure) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remainingCount else { throw endOfInput(message) }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// Consumes bytes while `predicate` holds, at most `limit` of them (more is a syntax error).
    mutating func readWhile(limit: Int = .max, tooLong: String = "Argument too long", _ predicate: (UInt8) -> Bool) throws(ParseFailure) -> ArraySlice<UInt8> {
        let start = position
        while position < bytes.count, predicate(bytes[position]) {
            position += 1
            if position - start > limit { throw .syntax(tooLong) }
        }
        return bytes[start..<position]
    }

    /// Consumes `byte` if it is next; true if it did.
    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    /// Consumes `text` case-insensitively (ASCII) if it is next, else consumes nothing.
    mutating func consumeCaseInsensitive(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard remainingCount >= count else { return false }
        let expected = UnsafeBufferPointer(start: text.utf8Start, count: count)
        for (offset, byte) in expected.enumerated() where bytes[position + offset].asciiUppercased != byte.asciiUppercased {
            return false
        }
        position += count
        return true
    }

    /// Requires `byte` next.
    mutating func expect(_ byte: UInt8, orElse message: String) throws(ParseFailure) {
        guard let next = peek else { throw endOfInput(message) }
        guard next == byte else { throw .syntax(message) }
        position += 1
    }

    /// Requires the end of the input.
    func expectEnd(orElse message: String) throws(ParseFailure) {
        guard isAtEnd else { throw .syntax(message) }
    }

    // MARK: - Combinators

    /// Runs `body`; on failure restores the position so an alternative can be tried.
    mutating func composite<T>(_ body: (inout ByteCursor) throws(ParseFailure) -> T) throws(ParseFailure) -> T {
        let saved = self
        do {
            return try body(&self)
        } catch {
            self = saved
            throw error
        }
    }

    /// Runs `body`; a syntax failure yields nil with nothing consumed. `incomplete` propagates.
    mutating func optional<T>(_ body: (inout ByteCursor) throws(ParseFailure) -> T) throws(ParseFailure) -> T? {
        do {
            return try composite(body)
        } catch .syntax {
            return nil
        } catch {
            throw error
        }
    }

    /// Tries each alternative in order; the first success wins. If all fail, the last syntax error is thrown.
    mutating func oneOf<T>(_ alternatives: [(inout ByteCursor) throws(ParseFailure) -> T], orElse message: String) throws(ParseFailure) -> T {
        var lastFailure = ParseFailure.syntax(message)
        for alternative in alternatives {
            do {
                return try composite(alternative)
            } catch .incomplete {
                throw .incomplete
            } catch {
                lastFailure = error
            }
        }
        throw lastFailure
    }

    /// Runs `body` one nesting level deeper; throws when the depth cap is reached.
    mutating func nested<T>(_ body: (inout ByteCursor) throws(ParseFailure) -> T) throws(ParseFailure) -> T {
        try nesting.enter()
        defer { nesting.leave() }
        return try body(&self)
    }
}

extension UInt8 {
    var asciiUppercased: UInt8 { (0x61...0x7A).contains(self) ? self - 0x20 : self }
}
