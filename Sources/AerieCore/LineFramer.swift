/// What a line framer found in the client byte stream.
public enum LineFramerEvent: Sendable, Equatable {
    /// One line without its terminator.
    case line([UInt8])
    /// A line over the limit; its bytes up to the next LF are dropped and framing goes on after it.
    case lineTooLong
}

/// Cuts a line-based protocol's input (POP3, the LMTP command phase) into bounded lines.
///
/// Lines end with CRLF; a bare LF is tolerated for hand-typed sessions, as Dovecot does (RFC 1939 §3,
/// RFC 5321 §2.3.8). A CR not followed by LF stays in the line, where the parser refuses it. The limit excludes the
/// terminator. `takeBufferedBytes()` hands bytes already read to a data reader (LMTP DATA/BDAT).
public struct LineFramer: Sendable {
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D


    public var maxLineLength: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for LF resumes, so byte-by-byte input costs O(n) overall.
    private var scanIndex = 0
    /// True after `lineTooLong` until the rest of that line (through its LF) has been dropped.
    private var skipping = false

    public init(maxLineLength: Int) {
        self.maxLineLength = max(0, maxLineLength)
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True if bytes remain that no event has accounted for (STARTTLS/STLS injection check, RFC 3207 §4.2, RFC 2595 §4).
    public var hasBufferedBytes: Bool { readIndex < buffer.count || skipping }

    /// Drops everything buffered (after STARTTLS/STLS, before the handshake).
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
    public mutating func next() -> LineFramerEvent? {
        while true {
            guard let lf = buffer[scanIndex...].firstIndex(of: LineFramer.lf) else {
                scanIndex = buffer.count
                if skipping {
                    readIndex = buffer.count
                    return nil
                }
                let pending = buffer.count - readIndex
                // One byte of slack for a CR that may turn out to be the terminator.
                if pending > maxLineLength + 1 || (pending == maxLineLength + 1 && buffer.last != LineFramer.cr) {
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
            if end > start, buffer[end - 1] == LineFramer.cr { end -= 1 }
            if end - start > maxLineLength { return .lineTooLong }
            return .line(Array(buffer[start..<end]))
        }
    }

    /// Reclaims consumed bytes at the front of the buffer.
    private mutating func compact() {
        InputBuffer.compact(&buffer, readIndex: &readIndex, scanIndex: &scanIndex)
    }
}
