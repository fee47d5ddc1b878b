import AerieMIME
import AerieStorage
import Glibc
import IMAPProtocol

/// What FETCH, STORE, COPY, MOVE, EXPUNGE and SEARCH share (the commands are in Commands/).
extension MailSession {
    /// Our own expunges: announce them now, in an order whose sequence numbers stay valid.
    func announceExpunged(_ uids: [UInt32], output: any IMAPOutput) {
        guard var current = view, !uids.isEmpty else { return }
        let announced = current
        let notes = current.absorb(MailboxChanges(expunged: uids), allowExpunge: true)
        view = current
        let searchRound = announceSearchRemovals(announced: announced, current: current, output: output)
        announceExpunges(notes, output: output)
        announceSearchAdditions(searchRound, current: current, output: output)
    }
}

/// A message's bytes, read once and parsed once, on demand.
struct MessageData {
    let mailbox: Mailbox
    let record: MessageRecord
    private var raw: [UInt8]?
    private var normalized: [UInt8]?
    private var parsedMessage: ParsedMessage?

    init(mailbox: Mailbox, record: MessageRecord) {
        self.mailbox = mailbox
        self.record = record
    }

    var isParsed: Bool { parsedMessage != nil || normalized != nil }

    mutating func bytes() throws -> [UInt8] {
        if let raw { return raw }
        let read = try mailbox.read(uid: record.uid)
        raw = read
        return read
    }

    /// The message as IMAP serves it: CRLF line endings (Maildir files usually hold LF).
    mutating func crlf() throws -> [UInt8] {
        if let normalized { return normalized }
        if let parsedMessage { return parsedMessage.crlfBytes }
        let result = CRLF.normalize(try bytes())
        normalized = result
        return result
    }

    /// ENVELOPE / BODY / BODYSTRUCTURE from the mailbox's cache, parsing the message only on a miss. The cache holds
    /// text: a value with 8-bit header octets that are not UTF-8 (sent as they are, like Dovecot) is not cached.
    mutating func cached(_ item: FetchCacheItem, _ make: (ParsedMessage) -> [UInt8]) throws -> [UInt8] {
        if let value = mailbox.cached(item, uid: record.uid) { return Array(value.utf8) }
        let value = make(try parsed())
        if let text = String(validating: value, as: UTF8.self) { mailbox.cache(item, uid: record.uid, value: text) }
        return value
    }

    mutating func parsed() throws -> ParsedMessage {
        if let parsedMessage { return parsedMessage }
        let message = ParsedMessage(bytes: try bytes())
        parsedMessage = message
        return message
    }
}

enum CRLF {
    /// Bare LF becomes CRLF; existing CRLF stays; the common all-CRLF file is returned as is.
    static func normalize(_ bytes: [UInt8]) -> [UInt8] {
        let bare = bareLineFeeds(bytes)
        guard bare > 0 else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bare)
        append(bytes, to: &out)
        return out
    }

    /// LFs not preceded by CR: the octets CRLF conversion adds. Maildir files usually hold LF, so this runs for nearly
    /// every BODY[] fetched; memchr finds the line ends.
    static func bareLineFeeds(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBufferPointer { source -> Int in
            guard let start = source.baseAddress, !source.isEmpty else { return 0 }
            let end = start + source.count
            var count = 0
            var cursor = start
            while cursor < end, let hit = memchr(cursor, 10, end - cursor) {
                let lf = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
                if lf == start || lf[-1] != 13 { count += 1 }
                cursor = lf + 1
            }
            return count
        }
    }

    /// Writes `bytes` with every bare LF turned into CRLF into `buffer`, if it fits; returns the size the whole
    /// conversion needs (compare with `buffer.count` to know whether it was all written).
    static func write(_ bytes: [UInt8], into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var needed = 0
        forEachPiece(of: bytes) { piece in
            if needed + piece.count <= buffer.count, let from = piece.baseAddress {
                (buffer.baseAddress! + needed).update(from: from, count: piece.count)
            }
            needed += piece.count
        }
        return needed
    }

    /// Appends `bytes` with every bare LF turned into CRLF.
    static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        forEachPiece(of: bytes) { out.append(contentsOf: $0) }
    }

    /// The converted message in order, as runs of the original between bare LFs and a CRLF for each of them.
    private static func forEachPiece(of bytes: [UInt8], _ visit: (UnsafeBufferPointer<UInt8>) -> Void) {
        let crlf: StaticString = "\r\n"
        bytes.withUnsafeBufferPointer { source in
            guard let start = source.baseAddress, !source.isEmpty else { return }
            let end = start + source.count
            var copied = start
            var cursor = start
            while cursor < end, let hit = memchr(cursor, 10, end - cursor) {
                let lf = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
                cursor = lf + 1
                guard lf == start || lf[-1] != 13 else { continue }
                visit(UnsafeBufferPointer(start: copied, count: lf - copied))
                visit(UnsafeBufferPointer(start: crlf.utf8Start, count: 2))
                copied = lf + 1
            }
            visit(UnsafeBufferPointer(start: copied, count: end - copied))
        }
    }
}

extension FetchAttribute {
    /// RFC 9051 §6.4.5: BODY[…] and BINARY[…] (not .PEEK), RFC822 and RFC822.TEXT set \Seen.
    var setsSeen: Bool {
        switch self {
        case .bodySection(let peek, _, _), .binary(let peek, _, _): !peek
        case .rfc822, .rfc822Text: true
        default: false
        }
    }
}

extension FetchSection {
    var mimeSection: BodySection {
        let part = self.part.map { Int($0) }
        switch text {
        case .complete: return BodySection(part: part, text: nil)
        case .header: return BodySection(part: part, text: .header)
        case .headerFields(let names): return BodySection(part: part, text: .headerFields(names))
        case .headerFieldsNot(let names): return BodySection(part: part, text: .headerFieldsNot(names))
        case .text: return BodySection(part: part, text: .text)
        case .mime: return BodySection(part: part, text: .mime)
        }
    }
}
