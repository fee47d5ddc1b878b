import AerieCore
public import NIOCore

/// Cuts the client byte stream into command units, within `IMAPFramingLimits`.
///
/// RFC 9051 §2.2.1 / §4.3: a command is a line, unless the line ends in a literal announcement
/// (`{N}`, `{N+}` per RFC 7888 §3, `~{N}` per RFC 3516 §4.3), in which case N octets of data and
/// another line follow. The framer does no other parsing, so any chunking of the same bytes gives
/// the same events.
///
/// Line ends: CRLF, or a bare LF — tolerated as Dovecot's imap parser does (it skips a CR before
/// LF), for hand-typed sessions. A CR not followed by LF stays in the line, where the parser refuses it.
///
/// After `lineTooLong`, or `literalTooLarge` for a non-synchronizing literal, the framer is closed:
/// it drops all input and `next()` returns nil, since the connection must end.
public struct IMAPCommandFramer: Sendable {
    public var limits: IMAPFramingLimits

    private enum State: Sendable, Equatable {
        /// Reading a line part of the current command.
        case line
        /// Copying literal data into the unit.
        case literal(remaining: Int)
        /// Handing literal data out as `spoolData` events.
        case spooling(remaining: Int)
        /// Stopped after a fatal framing error.
        case closed
    }

    private var buffer: [UInt8] = []
    /// First byte not yet consumed into the unit (in `.line`, the start of the current line part).
    private var readIndex = 0
    /// Where the search for LF resumes, so byte-by-byte input costs O(n) overall.
    private var scanIndex = 0
    private var unit: [UInt8] = []
    private var literalCount = 0
    /// Literal octets of the current command handed out for spooling (they count against `maxCommandSize`).
    private var spooledBytes = 0
    /// The `spoolStart` still to report before the data of a spooled literal.
    private var pendingSpoolStart: FramerEvent?
    /// The tag of the command being framed, for error events; nil until its first line is complete.
    private var tag: String?
    /// True when the command being framed is an APPEND, whose message literals may be spooled.
    private var commandSpools = false
    private var state = State.line

    public init(limits: IMAPFramingLimits = .preLogin) {
        self.limits = limits
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: ByteBuffer) {
        guard state != .closed else { return }
        compact()
        buffer.append(contentsOf: bytes.readableBytesView)
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: [UInt8]) {
        guard state != .closed else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True if bytes remain that no event has accounted for (STARTTLS injection check, RFC 9051 §11.1).
    public var hasBufferedBytes: Bool {
        readIndex < buffer.count || !unit.isEmpty || (state != .line && state != .closed)
    }

    /// True after a fatal framing error; the connection must close.
    public var isClosed: Bool { state == .closed }

    /// Drops everything buffered and any half-framed command (after STARTTLS, before the handshake).
    public mutating func discardBuffered() {
        buffer.removeAll(keepingCapacity: false)
        readIndex = 0
        scanIndex = 0
        resetCommand()
        if state != .closed { state = .line }
    }

    /// Hands over the bytes read behind the last command and forgets them (RFC 4978 §3: after COMPRESS they are
    /// compressed, so they must go through the inflater first).
    public mutating func takeUnframedBytes() -> [UInt8] {
        let rest = readIndex < buffer.count ? Array(buffer[readIndex...]) : []
        discardBuffered()
        return rest
    }

    /// The next framing event, or nil if more bytes are needed.
    public mutating func next() -> FramerEvent? {
        while true {
            switch state {
            case .closed:
                return nil
            case .literal(let remaining):
                let take = min(remaining, buffer.count - readIndex)
                unit.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                scanIndex = readIndex
                if take < remaining {
                    state = .literal(remaining: remaining - take)
                    return nil
                }
                state = .line
            case .spooling(let remaining):
                if let start = pendingSpoolStart {
                    pendingSpoolStart = nil
                    return start
                }
                let take = min(remaining, buffer.count - readIndex)
                guard take > 0 else { return nil }
                let chunk = Array(buffer[readIndex..<(readIndex + take)])
                readIndex += take
                scanIndex = readIndex
                state = take < remaining ? .spooling(remaining: remaining - take) : .line
                return .spoolData(chunk)
            case .line:
                if let event = nextFromLine() { return event }
                if state == .line { return nil }
            }
        }
    }

    /// Handles one line part; nil with state still `.line` means more bytes are needed,
    /// nil with state `.literal` means go on copying data.
    private mutating func nextFromLine() -> FramerEvent? {
        let lineLimit = max(0, min(limits.maxLineLength, limits.maxCommandSize - unit.count))
        guard let lf = buffer[scanIndex...].firstIndex(of: ASCII.lf) else {
            scanIndex = buffer.count
            let pending = buffer.count - readIndex
            // One byte of slack for a CR that may turn out to be the terminator.
            if pending > lineLimit + 1 || (pending == lineLimit + 1 && buffer.last != ASCII.cr) {
                return fail(.lineTooLong(tag: currentTag(orFrom: buffer[readIndex...], lineLimit: lineLimit)))
            }
            return nil
        }
        var lineEnd = lf
        if lineEnd > readIndex, buffer[lineEnd - 1] == ASCII.cr { lineEnd -= 1 }
        let line = buffer[readIndex..<lineEnd]
        if line.count > lineLimit {
            return fail(.lineTooLong(tag: currentTag(orFrom: line, lineLimit: lineLimit)))
        }
        readIndex = lf + 1
        scanIndex = readIndex
        if unit.isEmpty, literalCount == 0 {
            tag = Self.tag(in: line)
            commandSpools = Self.isAppend(line)
        }

        guard let marker = LiteralMarker.atEnd(of: line) else {
            unit.append(contentsOf: line)
            let complete = unit
            resetCommand()
            return .unit(complete)
        }
        literalCount += 1
        if literalCount > limits.maxLiteralsPerCommand {
            // A synchronizing literal is not sent until invited: the command can be refused and the connection kept.
            guard marker.synchronizing else { return fail(.lineTooLong(tag: tag)) }
            let event = FramerEvent.tooManyLiterals(tag: tag)
            resetCommand()
            return event
        }
        // Subtraction: the size may be Int.max.
        let roomForLiteral = limits.maxCommandSize - unit.count - spooledBytes - line.count - 2
        let refusedUnsent = marker.synchronizing && marker.size > (limits.maxSynchronizingLiteralSize ?? Int.max)
        // Only APPEND (RFC 9051 §6.3.12) reads a spooled literal; any other command would see an empty string.
        let unspoolable = !commandSpools && marker.size > (limits.spoolThreshold ?? Int.max)
        if marker.size > limits.maxLiteralSize || marker.size > roomForLiteral || refusedUnsent || unspoolable {
            let event = FramerEvent.literalTooLarge(tag: tag, size: marker.size, synchronizing: marker.synchronizing)
            guard marker.synchronizing else { return fail(event) }
            resetCommand()
            return event
        }
        if let threshold = limits.spoolThreshold, marker.size > threshold {
            unit.append(contentsOf: line.dropLast(marker.length))
            unit.append(contentsOf: (marker.isLiteral8 ? "~{0}\r\n" : "{0}\r\n").utf8)
            spooledBytes += marker.size
            pendingSpoolStart = .spoolStart(offset: unit.count, size: marker.size)
            state = .spooling(remaining: marker.size)
            return marker.synchronizing ? .needsContinuation : nil
        }
        unit.append(contentsOf: line)
        unit.append(ASCII.cr)
        unit.append(ASCII.lf)
        state = .literal(remaining: marker.size)
        return marker.synchronizing ? .needsContinuation : nil
    }

    private func currentTag(orFrom line: ArraySlice<UInt8>, lineLimit: Int) -> String? {
        guard unit.isEmpty, literalCount == 0 else { return tag }
        // Only the bytes every chunking has seen when the overflow is detected.
        return Self.tag(in: line.prefix(lineLimit + 1))
    }

    /// The tag at the start of a command's first line, if it is a valid tag followed by SP.
    static func tag(in line: ArraySlice<UInt8>) -> String? {
        guard let space = line.prefix(IMAPTag.maximumLength + 1).firstIndex(of: ASCII.space) else { return nil }
        let candidate = line[line.startIndex..<space]
        guard !candidate.isEmpty, candidate.allSatisfy(\.isTagChar) else { return nil }
        return String(decoding: candidate, as: UTF8.self)
    }

    /// True when `line` is `tag SP "APPEND" SP …` (the command name in any case).
    static func isAppend(_ line: ArraySlice<UInt8>) -> Bool {
        guard let space = line.firstIndex(of: ASCII.space) else { return false }
        let name = line[(space + 1)...].prefix(7)
        return name.count == 7 && name.last == ASCII.space
            && zip(name, "APPEND".utf8).allSatisfy { $0 & 0xDF == $1 }
    }

    private mutating func fail(_ event: FramerEvent) -> FramerEvent {
        state = .closed
        buffer = []
        readIndex = 0
        scanIndex = 0
        resetCommand()
        return event
    }

    private mutating func resetCommand() {
        unit = []
        literalCount = 0
        spooledBytes = 0
        pendingSpoolStart = nil
        tag = nil
        commandSpools = false
    }

    /// Reclaims consumed bytes at the front of the buffer.
    private mutating func compact() {
        InputBuffer.compact(&buffer, readIndex: &readIndex, scanIndex: &scanIndex)
    }
}
