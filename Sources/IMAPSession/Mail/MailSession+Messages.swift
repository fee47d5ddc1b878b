import AerieMIME
import AerieStorage
import Glibc
import IMAPProtocol

/// FETCH, STORE, COPY, MOVE and EXPUNGE (RFC 9051 §6.4, RFC 7162, RFC 4315, RFC 6851).
extension MailSession {
    /// RFC 9051 §6.4.5; answered from the session's view (`MailboxView` rules 2–4): a message expunged elsewhere but
    /// not yet announced is still served, and a part whose file is gone is answered NIL with `OK [EXPUNGEISSUED]`.
    func fetch(_ command: FetchCommand, output: any IMAPOutput) throws -> CommandResult {
        _ = try requireSelected()
        let uids = try resolve(command.sequence, uid: command.uid)
        var attributes = command.attributes
        // RFC 7162 §3.2 (QRESYNC): once enabled, every FETCH response carries the UID.
        if (command.uid || qresyncEnabled) && !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        if command.changedSince != nil && !attributes.contains(.modSeq) { attributes.append(.modSeq) }
        if command.changedSince != nil || attributes.contains(.modSeq) { enableCondstore(output: output) }
        if command.vanished, let since = command.changedSince, qresyncEnabled,
            let vanished = view?.mailbox.expungedSince(modSeq: since)
        {
            let max = view?.lastUID ?? 0
            let reported = vanished.filter { command.sequence.contains($0, max: max) }
            if !reported.isEmpty { output.send(.untagged(IMAPResponseLine.vanished(reported, earlier: true))) }
        }
        var selected = try requireSelected()
        announceKeywords(in: &selected, output: output)
        view = selected
        let setsSeen = !selected.readOnly && attributes.contains { $0.setsSeen }
        var seenUIDs: [UInt32] = []
        var skippedExpunged = false
        for uid in uids {
            guard let record = selected.record(uid: uid), let sequence = selected.sequenceNumber(of: uid) else {
                continue
            }
            if let since = command.changedSince, record.modSeq <= since { continue }
            var flags = record.flags
            if setsSeen && !flags.system.contains(.seen) && !selected.pendingExpunges.contains(uid) {
                seenUIDs.append(uid)
                flags.system.insert(.seen)
            }
            var shown = flags.imapFlags
            if selected.isRecent(uid) { shown.append(.recent) }
            var message = MessageData(mailbox: selected.mailbox, record: record)
            var builder = FetchResponseBuilder(sequenceNumber: UInt32(sequence), reservingCapacity: 256)
            for attribute in attributes {
                do {
                    try add(attribute, record: record, flags: shown, message: &message, to: &builder)
                } catch StorageError.messageNotFound {
                    // Dovecot's imap-fetch.c: the file is gone; answer the item's NIL form and carry on.
                    skippedExpunged = true
                    let (name, value) = Self.nilReply(for: attribute)
                    builder.item(name, value)
                }
            }
            if !seenUIDs.isEmpty && seenUIDs.last == uid && !attributes.contains(.flags) {
                builder.flags(shown)
            }
            output.sendRaw(builder.finish())
        }
        selected.mailbox.flushCache()
        if !seenUIDs.isEmpty {
            let changed = try selected.mailbox.store(
                uids: seenUIDs, flags: MessageFlags(system: .seen), mode: .add, unchangedSince: nil
            ).changed
            for record in changed { view?.update(record) }
        }
        if skippedExpunged {
            return .ok("Some messages were already expunged.", code: .other("EXPUNGEISSUED"))
        }
        return .ok("Fetch completed.")
    }

    /// What Dovecot sends for an item of a message whose file is gone (imap-fetch.c's nil replies).
    static func nilReply(for attribute: FetchAttribute) -> (String, String) {
        switch attribute {
        case .envelope: ("ENVELOPE", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)")
        case .body: ("BODY", "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)")
        case .bodyStructure: ("BODYSTRUCTURE", "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)")
        case .rfc822: ("RFC822", "NIL")
        case .rfc822Header: ("RFC822.HEADER", "NIL")
        case .rfc822Text: ("RFC822.TEXT", "NIL")
        case .bodySection(_, let section, let partial):
            ("BODY[\(section)]" + (partial.map { "<\($0.offset)>" } ?? ""), "NIL")
        case .binary(_, let part, let partial):
            ("BINARY[" + part.map(String.init).joined(separator: ".") + "]" + (partial.map { "<\($0.offset)>" } ?? ""),
             "NIL")
        case .binarySize(let part): ("BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]", "0")
        case .emailID: ("EMAILID", "NIL")
        default: ("UID", "NIL")
        }
    }

    /// One FETCH item; message bytes are read and parsed at most once per message.
    func add(
        _ attribute: FetchAttribute, record: MessageRecord, flags: [Flag], message: inout MessageData,
        to builder: inout FetchResponseBuilder
    ) throws {
        switch attribute {
        case .uid: builder.uid(record.uid)
        case .flags: builder.flags(flags)
        case .internalDate: builder.internalDate(secondsSince1970: record.internalDate)
        case .rfc822Size: builder.rfc822Size(record.virtualSize)
        case .modSeq: builder.modSeq(record.modSeq)
        case .saveDate: builder.saveDate(secondsSince1970: record.saveDate)
        case .emailID: builder.objectID("EMAILID", message.mailbox.emailID(uid: record.uid))
        case .threadID: builder.objectID("THREADID", nil)
        case .envelope: builder.item("ENVELOPE", bytes: try message.cached(.envelope) { $0.envelopeBytes() })
        case .body: builder.item("BODY", bytes: try message.cached(.body) { $0.bodyStructureBytes(extended: false) })
        case .bodyStructure:
            builder.item(
                "BODYSTRUCTURE", bytes: try message.cached(.bodyStructure) { $0.bodyStructureBytes(extended: true) })
        case .rfc822: builder.literal("RFC822", try message.crlf())
        case .rfc822Header:
            builder.literal("RFC822.HEADER", try message.parsed().section(BodySection(text: .header)) ?? [])
        case .rfc822Text:
            builder.literal("RFC822.TEXT", try message.parsed().section(BodySection(text: .text)) ?? [])
        case .bodySection(_, let section, nil) where section.part.isEmpty && section.text == .complete
            && !message.isParsed:
            // The whole message, the usual BODY.PEEK[]: converted to CRLF straight into the response.
            let raw = try message.bytes()
            // The W= size in the file name is the CRLF size: the estimate, checked while writing. A file name is not
            // trusted beyond what CRLF conversion can produce (at most twice the octets).
            let plausible = raw.count == record.size && (raw.count...(2 * raw.count)).contains(record.virtualSize)
            let estimate = plausible ? record.virtualSize : raw.count + CRLF.bareLineFeeds(raw)
            builder.literal("BODY[]", count: estimate, fill: { CRLF.write(raw, into: $0) }, fallback: { CRLF.normalize(raw) })
        case .bodySection(_, let section, let partial):
            let bytes: [UInt8]
            if section.part.isEmpty, case .complete = section.text {
                bytes = try message.crlf()
            } else {
                bytes = try message.parsed().section(section.mimeSection) ?? []
            }
            builder.literal(attribute.responseName, Self.apply(partial, to: bytes).0)
        case .binary(_, let part, let partial):
            guard let content = try message.parsed().binaryContent(part.map { Int($0) }) else {
                throw CommandFailure(.no, .other("UNKNOWN-CTE"), "Unknown Content-Transfer-Encoding.")
            }
            let (slice, origin) = Self.apply(partial, to: content.bytes)
            let name = "BINARY[" + part.map(String.init).joined(separator: ".") + "]"
            builder.binary(name + (origin.map { "<\($0)>" } ?? ""), slice, literal8: content.decoded)
        case .binarySize(let part):
            guard let bytes = try message.parsed().binarySection(part.map { Int($0) }) else {
                throw CommandFailure(.no, .other("UNKNOWN-CTE"), "Unknown Content-Transfer-Encoding.")
            }
            builder.item("BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]", String(bytes.count))
        }
    }

    /// RFC 9051 §6.4.5: `<origin.octets>` partial fetch; the response names only the origin.
    static func apply(_ partial: FetchPartial?, to bytes: [UInt8]) -> (ArraySlice<UInt8>, UInt64?) {
        guard let partial else { return (bytes[...], nil) }
        let start = Int(min(partial.offset, UInt64(bytes.count)))
        let end = Int(min(UInt64(start) + partial.length, UInt64(bytes.count)))
        return (bytes[start..<end], partial.offset)
    }

    /// RFC 9051 §6.4.6; the view takes the new flags, and new keywords are announced before the FETCH answers.
    func store(_ command: StoreCommand, output: any IMAPOutput) throws -> CommandResult {
        var selected = try requireSelected()
        guard !selected.readOnly else { throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.") }
        let uids = try resolve(command.sequence, uid: command.uid)
        let mode: StoreMode =
            switch command.mode {
            case .add: .add
            case .remove: .remove
            case .replace: .replace
            }
        if command.unchangedSince != nil {
            enableCondstore(output: output)
            selected = try requireSelected()
        }
        let live = uids.filter { !selected.pendingExpunges.contains($0) }
        let result = try selected.mailbox.store(
            uids: live, flags: MessageFlags(imapFlags: command.flags), mode: mode,
            unchangedSince: command.unchangedSince)
        for record in result.changed { selected.update(record) }
        announceKeywords(in: &selected, output: output)
        view = selected
        for record in result.changed {
            guard !command.silent || command.unchangedSince != nil,
                let sequence = selected.sequenceNumber(of: record.uid)
            else { continue }
            var builder = FetchResponseBuilder(sequenceNumber: UInt32(sequence))
            if !command.silent { builder.flags(flagList(record, in: selected)) }
            if command.uid || qresyncEnabled { builder.uid(record.uid) }
            if condstoreEnabled { builder.modSeq(record.modSeq) }
            output.sendRaw(builder.bytes)
        }
        if !result.failedModified.isEmpty {
            let numbers =
                command.uid
                ? result.failedModified : result.failedModified.compactMap { view?.sequenceNumber(of: $0) }.map(UInt32.init)
            return .ok("Conditional store failed.", code: IMAPResponseCode.modified(numbers))
        }
        return .ok("Store completed.")
    }

    func copy(uid: Bool, set: SequenceSet, to mailbox: MailboxName, move: Bool, output: any IMAPOutput) throws
        -> CommandResult
    {
        let selected = try requireSelected()
        if move && selected.readOnly { throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.") }
        let uids = try resolve(set, uid: uid)
        // As Dovecot's cmd-copy.c: a COPY or MOVE naming a message known to be gone does nothing (RFC 9051 §6.4.7),
        // and the expunge is told before the NO (COPY is not among the commands that hold EXPUNGE back).
        if uids.contains(where: selected.pendingExpunges.contains) {
            return CommandResult(final: {
                .tagged($0, .no, .other("EXPUNGEISSUED"), "Some of the requested messages no longer exist.")
            })
        }
        let destination = try openTarget(try name(mailbox))
        guard !uids.isEmpty else {
            return .ok(move ? "No messages moved." : "No messages copied.")
        }
        let pairs =
            move ? try selected.mailbox.move(uids: uids, to: destination) : try selected.mailbox.copy(uids: uids, to: destination)
        let code = IMAPResponseCode.copyUID(
            uidValidity: destination.uidValidity, source: pairs.map(\.source), destination: pairs.map(\.destination))
        guard move else { return .ok("Copy completed.", code: code) }
        // RFC 6851 §4.3: COPYUID comes untagged, before the expunges.
        output.send(.untaggedStatus(.ok, code, "Moved UIDs."))
        announceExpunged(pairs.map(\.source), output: output)
        return .ok("Move completed.")
    }

    /// RFC 9051 §6.4.3, RFC 4315 §2.1: the messages the client knows as \Deleted go (after a sync, so flags others set
    /// are told first); only those are announced, with any expunges still pending.
    func expunge(uids: [UInt32]?, output: any IMAPOutput) throws -> CommandResult {
        guard try !requireSelected().readOnly else {
            throw CommandFailure(.no, .other("READ-ONLY"), "Mailbox is read-only.")
        }
        notifyChanges(output: output, allowExpunge: true)
        let selected = try requireSelected()
        let wanted = uids.map { Set($0) }
        let removed = try selected.mailbox.expunge(uids: selected.deletedUIDs.filter { wanted?.contains($0) ?? true })
        announceExpunged(removed, output: output)
        return .ok("Expunge completed.")
    }

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
