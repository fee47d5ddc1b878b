import AerieMIME
import AerieStorage
import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.5; FETCH streams each message's response as it is built, so it writes to the output.
    static let fetch = fetchEntry("FETCH", uid: false)
    static let uidFetch = fetchEntry("UID FETCH", uid: true)

    private static func fetchEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid,
            mail: .streaming { session, command, output in
                guard case .fetch(let fetch) = command.kind, fetch.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.fetch(fetch, output: output)
            })
    }
}

extension MailSession {
    /// RFC 9051 §6.4.5; answered from the session's view (`MailboxView` rules 2–4): a message expunged elsewhere but
    /// not yet announced is still served, and a part whose file is gone is answered NIL with `OK [EXPUNGEISSUED]`.
    func fetch(_ command: FetchCommand, output: any IMAPOutput) throws -> CommandResult {
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
}
