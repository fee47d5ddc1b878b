/// What the POP3 framer found in the client byte stream.
public enum POP3FramerEvent: Sendable, Equatable {
    /// One line without its terminator.
    case line([UInt8])
    /// A line over the limit; its bytes up to the next LF are dropped and framing goes on after it.
    case lineTooLong
}

/// Cuts the client byte stream into lines, within a bound.
///
/// RFC 1939 §3: commands end with CRLF; a bare LF is tolerated (as Dovecot does) for hand-typed sessions.
/// A CR not followed by LF stays in the line, where the parser refuses it.
/// RFC 2449 §4: a command line is at most 255 octets; the limit here excludes the terminator, so a
/// client that counts its CRLF inside the 255 is always accepted. Raise `maxLineLength` while a SASL
/// exchange runs (RFC 5034 §4 responses are not bound by the 255 octets).
public struct POP3LineFramer: Sendable {
    /// RFC 2449 §4: 255 octets per command line.
    public static let defaultMaxLineLength = 255

    /// Longest line accepted, terminator excluded.
    public var maxLineLength: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for LF resumes, so byte-by-byte input costs O(n) overall.
    private var scanIndex = 0
    /// True after `lineTooLong` until the rest of that line (through its LF) has been dropped.
    private var skipping = false

    public init(maxLineLength: Int = POP3LineFramer.defaultMaxLineLength) {
        self.maxLineLength = max(0, maxLineLength)
    }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// True if bytes remain that no event has accounted for (STLS injection check, RFC 2595 §4).
    public var hasBufferedBytes: Bool { readIndex < buffer.count || skipping }

    /// Drops everything buffered (after STLS, before the handshake: RFC 2595 §4, plaintext injection).
    public mutating func discardBuffered() {
        buffer.removeAll(keepingCapacity: false)
        readIndex = 0
        scanIndex = 0
        skipping = false
    }

    /// The next event, or nil if more bytes are needed.
    public mutating func next() -> POP3FramerEvent? {
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
