/// Reads the data of `BDAT n [LAST]` chunks (RFC 3030 §2, §4.2): exactly n octets, no dot-stuffing,
/// no line-end conversion, with a size limit over the whole message.
///
/// Usage: after parsing `BDAT n`, call `beginChunk(size:)`, feed it the bytes from
/// `LMTPLineFramer.takeBufferedBytes()` and then from the connection until `.end`; hand
/// `takeRemainder()` back to the framer. Call `reset()` after the LAST chunk, RSET or a failed transaction.
public struct BDATReader: Sendable {
    public let maxMessageSize: Int
    /// Octets still expected in the current chunk.
    public private(set) var chunkRemaining = 0
    /// Octets of the message over all chunks so far (also counted after the limit).
    public private(set) var messageSize = 0
    public private(set) var isTooLarge = false
    private var reportedTooLarge = false
    private var reading = false
    private var remainder: [UInt8] = []

    public init(maxMessageSize: Int) {
        self.maxMessageSize = max(0, maxMessageSize)
    }

    /// True between `beginChunk` and the chunk's `.end`.
    public var isReadingChunk: Bool { reading }

    /// Starts a chunk of `size` octets (RFC 3030 §2: `BDAT 0 LAST` is valid and ends at once on the next `feed`).
    public mutating func beginChunk(size: Int) {
        chunkRemaining = max(0, size)
        reading = true
    }

    /// Forgets the message (after the LAST chunk, RSET, or a failed transaction).
    public mutating func reset() {
        chunkRemaining = 0
        messageSize = 0
        isTooLarge = false
        reportedTooLarge = false
        reading = false
    }

    /// Feeds bytes from the connection; bytes past the chunk go to the remainder.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [LMTPDataEvent] {
        guard reading else {
            remainder.append(contentsOf: bytes)
            return []
        }
        let take = min(chunkRemaining, bytes.count)
        let end = bytes.index(bytes.startIndex, offsetBy: take)
        chunkRemaining -= take
        messageSize += take
        var events: [LMTPDataEvent] = []
        if messageSize > maxMessageSize { isTooLarge = true }
        if isTooLarge {
            if !reportedTooLarge {
                reportedTooLarge = true
                events.append(.tooLarge)
            }
        } else if take > 0 {
            events.append(.data(Array(bytes[..<end])))
        }
        if chunkRemaining == 0 {
            reading = false
            remainder.append(contentsOf: bytes[end...])
            events.append(.end)
        }
        return events
    }

    /// Bytes that followed the chunk (the next command); empty while the chunk is incomplete.
    public mutating func takeRemainder() -> [UInt8] {
        defer { remainder = [] }
        return remainder
    }
}
