import AerieMIME
import AerieStorage
import IMAPProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// SORT and THREAD (RFC 5256; DISPLAYFROM / DISPLAYTO from RFC 5957). Only message headers are read, one message at a
/// time, and each message keeps a few small keys (`SortMessage`), so a large mailbox is never held in memory.
extension MailSession {
    /// RFC 5256 §3: the charsets a SORT or THREAD search may name; others get `NO [BADCHARSET (…)]`.
    static let sortCharsets = ["UTF-8", "US-ASCII"]
    /// RFC 5256 §4: the THREAD algorithms advertised as `THREAD=…`.
    static let threadAlgorithms = ["ORDEREDSUBJECT", "REFERENCES"]

    func checkSortCharset(_ charset: String) throws {
        guard Self.sortCharsets.contains(charset.uppercased()) else {
            throw CommandFailure(.no, IMAPResponseCode.badCharset(Self.sortCharsets), "Unsupported charset.")
        }
    }

    /// The messages matching a search key (SEARCH's own matching), in mailbox order, with the keys `fields` asks for;
    /// also the highest modseq among them when the key searched MODSEQ (RFC 7162 §3.1.5).
    func sortMessages(matching key: SearchKey, fields: SortFields) throws -> ([SortMessage], UInt64?) {
        let selected = try requireSelected()
        var ids = MessageIDTable()
        var messages: [SortMessage] = []
        var highestModSeq: UInt64 = 0
        for (sequence, record) in try matching(key, in: selected) {
            highestModSeq = max(highestModSeq, record.modSeq)
            let header = fields.isEmpty ? nil : try Self.readHeader(of: record, in: selected.mailbox)
            messages.append(
                SortMessage(
                    sequence: UInt32(sequence), uid: record.uid, arrival: record.internalDate, size: record.virtualSize,
                    header: header, fields: fields, ids: &ids))
        }
        if key.mentionsModSeq { enabled.insert("CONDSTORE") }
        return (messages, key.mentionsModSeq && !messages.isEmpty ? highestModSeq : nil)
    }

    /// Most header bytes read from one message (the MIME parser's own header limit).
    static let sortHeaderLimit = MIMELimits().maxHeaderBytes

    /// The header block of a message, read from the start of its file up to the empty line that ends it (or the
    /// limit); nil when the message is gone from disk (it then sorts with empty keys, as one without headers).
    static func readHeader(of record: MessageRecord, in mailbox: Mailbox) throws -> [UInt8]? {
        // Opened as every message file is (no symlink, FIFO or device; see `Mailbox.openMessage`).
        if let opened = try mailbox.openMessage(uid: record.uid) {
            defer { Glibc.close(opened.fd) }
            return try readHeader(fd: opened.fd, path: opened.path)
        }
        // Renamed by another process meanwhile (a flag change): the store's rescanning read finds it.
        do {
            return headerPrefix(of: try mailbox.read(uid: record.uid))
        } catch {
            guard case .messageNotFound = error else { throw error }
            return nil
        }
    }

    private static func readHeader(fd: Int32, path: String) throws -> [UInt8] {
        var header: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while header.count < sortHeaderLimit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(path: path, errno: errno)
            }
            if count == 0 { break }
            let scanFrom = max(0, header.count - 2)
            header += chunk[0..<count]
            if let end = headerEnd(header, from: scanFrom) { return Array(header[0..<end]) }
        }
        return Array(header.prefix(sortHeaderLimit))
    }

    static func headerPrefix(of bytes: [UInt8]) -> [UInt8] {
        let limited = bytes.prefix(sortHeaderLimit)
        return headerEnd(Array(limited), from: 0).map { Array(limited[0..<$0]) } ?? Array(limited)
    }

    /// Offset just after the empty line ending the header (LF LF or LF CR LF), if it is in `bytes`.
    static func headerEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        // A message that starts with its empty line has no header fields.
        if start == 0, bytes.first == 10 { return 1 }
        if start == 0, bytes.count >= 2, bytes[0] == 13, bytes[1] == 10 { return 2 }
        var i = start
        while i < bytes.count {
            if bytes[i] == 10 {
                if i + 1 < bytes.count, bytes[i + 1] == 10 { return i + 2 }
                if i + 2 < bytes.count, bytes[i + 1] == 13, bytes[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }
}
