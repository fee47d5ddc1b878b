import AerieStorage
import Glibc
public import POP3Protocol

extension POP3Maildrop {
    /// RETR (`bodyLines` nil) or TOP: `+OK`, the dot-stuffed message read from disk in 64 KiB chunks, `.`.
    /// Returns the octets sent after the status line, or nil when the response broke off half way (the
    /// connection must close: the client cannot tell a truncated message from a whole one otherwise).
    func stream(_ index: Int, bodyLines: Int?, output: some POP3Output, from given: MessageSource? = nil) -> Int? {
        let record = messages[index]
        let status = bodyLines == nil ? POP3Response.ok("\(record.virtualSize) octets") : POP3Response.ok("")
        let source: MessageSource
        if let given {
            source = given
        } else {
            do {
                source = try open(record)
            } catch {
                // Nothing sent yet: a plain -ERR keeps the session usable.
                log.error(logCategory, "RETR/TOP of UID \(record.uid) failed: \(error)")
                output.send(Self.errorResponse(error).bytes)
                return 0
            }
        }
        var stuffer = DotStuffer(bodyLines: bodyLines)
        var sent = 0
        output.send(status.bytes)
        switch source {
        case .memory(let bytes):
            var offset = 0
            repeat {
                let end = min(bytes.count, offset + Self.chunkSize)
                let chunk = stuffer.feed(bytes[offset..<end])
                if !chunk.isEmpty { output.send(chunk); sent += chunk.count }
                offset = end
            } while offset < bytes.count && !stuffer.isComplete
        case .file(let fd, let path, let size):
            defer { close(fd) }
            // Sized to the message (S=) when it is small: a zeroed 64 KiB buffer per RETR cost more than the read.
            var buffer = [UInt8](repeating: 0, count: min(Self.chunkSize, max(4096, record.size + 1)))
            // No further than the file's length when opened: a file that keeps growing cannot hold the thread.
            var left = size
            while !stuffer.isComplete && left > 0 {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, left)) }
                if count < 0 {
                    if errno == EINTR { continue }
                    log.error(logCategory, "read(\(path)) failed: errno \(errno)")
                    return nil
                }
                if count == 0 { break }
                left -= count
                let chunk = stuffer.feed(buffer[0..<count])
                if !chunk.isEmpty { output.send(chunk); sent += chunk.count }
            }
        }
        let end = stuffer.finish()
        output.send(end)
        return sent + end.count
    }

    enum MessageSource {
        /// An open message file, its path and its length when opened.
        case file(Int32, String, Int)
        case memory([UInt8])
    }

    /// The message file, opened for streaming; when another process renamed it meanwhile (a flag change),
    /// the store's rescanning read finds it under its new name.
    func open(_ record: MessageRecord) throws(StorageError) -> MessageSource {
        if let opened = try mailbox.openMessage(uid: record.uid) { return .file(opened.fd, opened.path, opened.size) }
        return .memory(try mailbox.read(uid: record.uid))
    }

    /// The largest message read ahead (one per connection at most).
    static let readAheadLimit = 64 * 1024

    /// RFC 1939 clients (fetchmail, getmail, mail apps) RETR one message after the other: after RETR n's response
    /// has gone out, message n+1 is read on the pool, so its RETR can be answered from memory on the event loop while
    /// the read of the one after runs behind it. Messages are files that never change, so a copy read early is the
    /// message.
    public func readAhead(after command: POP3Command) {
        readAheadMessage = nil
        guard !finished, case .retr(let number) = command, number >= 1, number < messages.count else { return }
        let next = number  // the index of message number + 1
        // S= can understate the file: one octet past the bound shows that, and its RETR streams it from disk.
        guard !deleted.contains(next), messages[next].size <= Self.readAheadLimit,
            let bytes = try? mailbox.read(uid: messages[next].uid, atMost: Self.readAheadLimit + 1),
            bytes.count <= Self.readAheadLimit
        else { return }
        readAheadMessage = (next, bytes)
    }

    /// Answers `command` if it is the RETR of the message read ahead; false for anything else (run it on the pool).
    public func answerFromReadAhead(_ command: POP3Command, output: some POP3Output) -> Bool {
        guard !finished, case .retr(let number) = command, let ahead = readAheadMessage, ahead.index == number - 1,
            !deleted.contains(ahead.index)
        else { return false }
        readAheadMessage = nil
        let sent = stream(ahead.index, bodyLines: nil, output: output, from: .memory(ahead.bytes)) ?? 0
        retrCount += 1
        retrBytes += sent
        retrieved.insert(ahead.index)
        return true
    }
}
