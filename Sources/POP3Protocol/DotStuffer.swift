/// Turns stored message bytes into the RETR / TOP wire form, chunk by chunk (RFC 1939 §3, §7).
///
/// - Line ends are normalised to CRLF (a bare LF gains its CR; a CR not followed by LF is kept,
///   as Dovecot keeps it, except at the very end of the message, where it ends the last line).
/// - A line beginning with "." gets a second "." (byte-stuffing, RFC 1939 §3).
/// - `finish()` ends an unterminated last line with CRLF and adds the `.` CRLF terminator.
/// - With `bodyLines` (TOP n, RFC 1939 §7): the header, the blank line after it, and at most n body
///   lines; after that `isComplete` is true and further input is ignored.
///
/// Chunking of the input never changes the output bytes.
public struct DotStuffer: Sendable {
    /// Lines of body still to send; nil for RETR (everything).
    private var bodyLinesLeft: Int?
    private var atLineStart = true
    /// A CR was the last byte seen; whether it ends a line depends on the next byte.
    private var pendingCR = false
    private var inBody = false
    private var finished = false

    /// `bodyLines`: nil for RETR, n ≥ 0 for TOP n.
    public init(bodyLines: Int? = nil) {
        bodyLinesLeft = bodyLines.map { max(0, $0) }
    }

    /// TOP only: the header and the requested body lines are out; the caller may stop reading the message.
    public private(set) var isComplete = false

    /// Stuffs the next chunk of the message.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(chunk.count + chunk.count / 32 + 4)
        feed(chunk, into: &out)
        return out
    }

    /// Stuffs the next chunk of the message, appending to `out`.
    public mutating func feed(_ chunk: some Collection<UInt8>, into out: inout [UInt8]) {
        guard !isComplete, !finished else { return }
        let done: Void? = chunk.withContiguousStorageIfAvailable { feed(buffer: $0, into: &out) }
        if done == nil { Array(chunk).withUnsafeBufferPointer { feed(buffer: $0, into: &out) } }
    }

    /// The byte loop, on contiguous memory so RETR streams at memory speed.
    private mutating func feed(buffer chunk: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var index = 0
        let count = chunk.count
        while index < count, !isComplete {
            let byte = chunk[index]
            if pendingCR {
                pendingCR = false
                if byte == ASCII.lf {
                    endLine(into: &out)
                    index += 1
                    continue
                }
                out.append(ASCII.cr)  // a lone CR stays in the line
                atLineStart = false
            }
            switch byte {
            case ASCII.cr:
                pendingCR = true
                index += 1
            case ASCII.lf:
                endLine(into: &out)
                index += 1
            default:
                if atLineStart, byte == ASCII.dot { out.append(ASCII.dot) }
                atLineStart = false
                // Copy the run of ordinary bytes up to the next CR or LF in one go.
                var runEnd = index + 1
                while runEnd < count, chunk[runEnd] != ASCII.cr, chunk[runEnd] != ASCII.lf { runEnd += 1 }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[index..<runEnd]))
                index = runEnd
            }
        }
    }

    /// Ends the response: CRLF for an unterminated last line, then `.` CRLF.
    public mutating func finish() -> [UInt8] {
        guard !finished else { return [] }
        var out: [UInt8] = []
        if !isComplete, pendingCR || !atLineStart {
            pendingCR = false
            endLine(into: &out)
        }
        finished = true
        out.append(contentsOf: [ASCII.dot, ASCII.cr, ASCII.lf])
        return out
    }

    /// The whole wire form of `message` at once.
    public static func stuff(_ message: some Collection<UInt8>, bodyLines: Int? = nil) -> [UInt8] {
        var stuffer = DotStuffer(bodyLines: bodyLines)
        var out = stuffer.feed(message)
        out.append(contentsOf: stuffer.finish())
        return out
    }

    private mutating func endLine(into out: inout [UInt8]) {
        out.append(ASCII.cr)
        out.append(ASCII.lf)
        let wasEmpty = atLineStart
        atLineStart = true
        guard let left = bodyLinesLeft else { return }
        if !inBody {
            // RFC 5322 §2.1: the first empty line ends the header.
            if wasEmpty {
                inBody = true
                if left == 0 { isComplete = true }
            }
        } else {
            bodyLinesLeft = left - 1
            if left - 1 <= 0 { isComplete = true }
        }
    }
}
