/// What a message-data reader produced from the bytes fed to it.
public enum LMTPDataEvent: Sendable, Equatable {
    /// Message bytes to store (unstuffed, CRLF line ends for DATA; exact bytes for BDAT).
    case data([UInt8])
    /// The message passed the size limit: sent once; no more `.data` follows, reading goes on to the end
    /// (answer `552 5.3.4` per recipient after the end, RFC 1870 §6.3).
    case tooLarge
    /// DATA: the `CRLF.CRLF` terminator arrived. BDAT: the chunk's last byte arrived.
    case end
}

/// Reads the DATA phase (RFC 5321 §4.1.1.4, §4.5.2): dot-unstuffing until the `.` line, in chunks.
///
/// - A line `.` ends the data; a leading `.` of any other line is removed (RFC 5321 §4.5.2).
/// - Line ends are normalised to CRLF (a bare LF is tolerated, as Dovecot's dot stream does);
///   a CR not followed by LF is kept.
/// - The CRLF before the terminating `.` belongs to the last line (RFC 5321 §4.1.1.4).
/// - Past `maxMessageSize` octets, `.tooLarge` is sent once and nothing more is stored.
///
/// Bytes after the terminator are the next commands: `takeRemainder()` returns them for the line framer.
/// Chunking of the input never changes the stored bytes of a message within the limit, only how `.data` is split;
/// once `.tooLarge` arrives, whatever was stored is to be discarded.
public struct DataReader: Sendable {
    private enum State: Sendable {
        case lineStart
        case inLine
        /// A CR was seen inside a line; whether it ends the line depends on the next byte.
        case pendingCR
        /// A `.` at the start of a line.
        case dot
        /// `.` CR at the start of a line.
        case dotCR
        case finished
    }

    public let maxMessageSize: Int
    private var state = State.lineStart
    private var remainder: [UInt8] = []
    /// Message octets produced so far (also counted after the limit, for logging).
    public private(set) var messageSize = 0
    public private(set) var isTooLarge = false
    private var reportedTooLarge = false

    public init(maxMessageSize: Int) {
        self.maxMessageSize = max(0, maxMessageSize)
    }

    /// True once the terminator has been read.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Feeds bytes from the connection. After `.end`, further bytes go to the remainder.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [LMTPDataEvent] {
        if isFinished {
            remainder.append(contentsOf: bytes)
            return []
        }
        if let events = bytes.withContiguousStorageIfAvailable({ feed(buffer: $0) }) { return events }
        return Array(bytes).withUnsafeBufferPointer { feed(buffer: $0) }
    }

    /// The byte loop, on contiguous memory so deliveries stream at memory speed.
    private mutating func feed(buffer bytes: UnsafeBufferPointer<UInt8>) -> [LMTPDataEvent] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var events: [LMTPDataEvent] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch state {
            case .finished:
                break
            case .lineStart:
                if byte == ASCII.dot {
                    state = .dot
                } else {
                    state = .inLine
                    index = consumeInLine(byte, bytes, from: index, into: &out)
                }
            case .dot:
                switch byte {
                case ASCII.cr: state = .dotCR
                case ASCII.lf: state = .finished
                default:
                    // The stuffing dot is dropped; the byte starts the line's content.
                    state = .inLine
                    index = consumeInLine(byte, bytes, from: index, into: &out)
                }
            case .dotCR:
                if byte == ASCII.lf {
                    state = .finished
                } else {
                    emit(ASCII.cr, into: &out)  // ".\r" then more: a lone CR after a stuffing dot
                    state = .inLine
                    index = consumeInLine(byte, bytes, from: index, into: &out)
                }
            case .pendingCR:
                if byte == ASCII.lf {
                    emitLineEnd(into: &out)
                } else {
                    emit(ASCII.cr, into: &out)
                    state = .inLine
                    index = consumeInLine(byte, bytes, from: index, into: &out)
                }
            case .inLine:
                index = consumeInLine(byte, bytes, from: index, into: &out)
            }
            if isFinished {
                remainder.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index...]))
                break
            }
        }
        flush(&out, into: &events)
        if isFinished { events.append(.end) }
        return events
    }

    /// Bytes that followed the terminator (pipelined commands); empty until then.
    public mutating func takeRemainder() -> [UInt8] {
        defer { remainder = [] }
        return remainder
    }

    /// One byte in the middle of a line, then the run of plain bytes after it; returns the next index.
    private mutating func consumeInLine(_ byte: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, from index: Int, into out: inout [UInt8]) -> Int {
        switch byte {
        case ASCII.cr:
            state = .pendingCR
            return index
        case ASCII.lf:
            emitLineEnd(into: &out)
            return index
        default:
            emit(byte, into: &out)
            var runEnd = index
            while runEnd < bytes.count, bytes[runEnd] != ASCII.cr, bytes[runEnd] != ASCII.lf { runEnd += 1 }
            emit(UnsafeBufferPointer(rebasing: bytes[index..<runEnd]), into: &out)
            return runEnd
        }
    }

    private mutating func emitLineEnd(into out: inout [UInt8]) {
        emit(ASCII.cr, into: &out)
        emit(ASCII.lf, into: &out)
        state = .lineStart
    }

    private mutating func emit(_ byte: UInt8, into out: inout [UInt8]) {
        messageSize += 1
        if messageSize > maxMessageSize { isTooLarge = true }
        if !isTooLarge { out.append(byte) }
    }

    private mutating func emit(_ run: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        messageSize += run.count
        if messageSize > maxMessageSize { isTooLarge = true }
        if !isTooLarge { out.append(contentsOf: run) }
    }

    /// Turns the stored bytes into events: data while within the limit, then `.tooLarge` once.
    private mutating func flush(_ out: inout [UInt8], into events: inout [LMTPDataEvent]) {
        if isTooLarge {
            if !reportedTooLarge {
                reportedTooLarge = true
                events.append(.tooLarge)  // the bytes of this feed are dropped with the rest of the message
            }
            return
        }
        if !out.isEmpty { events.append(.data(out)) }
    }
}
