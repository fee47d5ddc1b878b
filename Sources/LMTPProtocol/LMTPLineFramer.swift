/// What the LMTP command-phase framer found in the client byte stream.
public enum LMTPFramerEvent: Sendable, Equatable {
    /// One command line without its terminator.
    case line([UInt8])
    /// A line over the limit; its bytes up to the next LF are dropped and framing goes on after it
    /// (answer `500 5.5.2 Line too long`).
    case lineTooLong
}

/// Cuts the command phase of an LMTP session into lines, within a bound.
///
/// RFC 5321 §2.3.8 / §4.1.1: commands end with CRLF; a bare LF is tolerated for hand-typed sessions.
/// RFC 5321 §4.5.3.1.4 allows 512 octets, raised by extensions (§4.5.3.1.7); 4096 leaves room for every
/// parameter Postfix sends. After DATA or BDAT, `takeBufferedBytes()` hands the bytes already read to
/// `DataReader` / `BDATReader`, and their remainder comes back through `append`.
public struct LMTPLineFramer: Sendable {
    /// Longest command line, terminator excluded.
    public static let defaultMaxLineLength = 4096

    public var maxLineLength: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for LF resumes, so byte-by-byte input costs O(n) overall.
    private var scanIndex = 0
    /// True after `lineTooLong` until the rest of that line (through its LF) has been dropped.
    private var skipping = false

    public init(maxLineLength: Int = LMTPLineFramer.defaultMaxLineLength) {
        self.maxLineLength = max(0, maxLineLength)
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True if bytes remain that no event has accounted for (STARTTLS injection check, RFC 3207 §4.2).
    public var hasBufferedBytes: Bool { readIndex < buffer.count || skipping }

    /// Drops everything buffered (after STARTTLS, before the handshake).
    public mutating func discardBuffered() {
        _ = takeBufferedBytes()
    }

    /// Removes and returns the bytes not yet framed: message data that followed DATA's 354 or a BDAT line.
    public mutating func takeBufferedBytes() -> [UInt8] {
        let rest = skipping ? [] : Array(buffer[readIndex...])
        buffer.removeAll(keepingCapacity: false)
        readIndex = 0
        scanIndex = 0
        skipping = false
        return rest
    }

    /// The next event, or nil if more bytes are needed.
    public mutating func next() -> LMTPFramerEvent? {
        while true {
            guard let lf = buffer[scanIndex...].firstIndex(of: ASCII.lf) else {
                scanIndex = buffer.count
                if skipping {
                    readIndex = buffer.count
                    return nil
                }
                let pending = buffer.count - readIndex
                // One byte of slack for a CR that may turn out to be the terminator.
                if pending > maxLineLength + 1 || (pending == maxLineLength + 1 && buffer.last != ASCII.cr) {
                    readIndex = buffer.count
                    skipping = true
                    return .lineTooLong
                }
                return nil
            }
            let start = readIndex
            readIndex = lf + 1
            scanIndex = readIndex
            if skipping {
                skipping = false
                continue
            }
            var end = lf
            if end > start, buffer[end - 1] == ASCII.cr { end -= 1 }
            if end - start > maxLineLength { return .lineTooLong }
            return .line(Array(buffer[start..<end]))
        }
    }

    /// Reclaims consumed bytes at the front of the buffer.
    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
            scanIndex = 0
        } else if readIndex >= 16 * 1024, readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }
}
