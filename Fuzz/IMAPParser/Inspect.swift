import IMAPProtocol

/// Command heads put before fuzz data so FETCH / SEARCH / … arguments are reached directly.
let argumentPrefixes = [
    "a FETCH ", "a UID FETCH 1:* ", "a FETCH 1 (", "a SEARCH ", "a UID SEARCH RETURN (", "a SEARCH CHARSET UTF-8 ",
    "a STORE ", "a UID STORE 1 ", "a SELECT ", "a EXAMINE INBOX (", "a LIST ", "a LIST \"\" ", "a APPEND INBOX ",
    "a STATUS INBOX ", "a COPY ", "a UID MOVE ", "a SORT ", "a UID THREAD ", "a CREATE ", "a RENAME ", "a SETQUOTA ",
    "a UID EXPUNGE ", "a LSUB ", "a FETCH 1 BODY[",
]

/// Checks the invariants of a parsed command: bounded helpers terminate, encoders round-trip.
func inspect(_ kind: IMAPCommandKind) {
    switch kind {
    case .select(let mailbox, let parameters), .examine(let mailbox, let parameters):
        checkMailbox(mailbox)
        if let qresync = parameters.qresync {
            checkSet(qresync.knownUIDs)
            checkSet(qresync.sequenceMatch?.sequenceNumbers)
            checkSet(qresync.sequenceMatch?.uids)
        }
    case .create(let mailbox, _), .delete(let mailbox), .subscribe(let mailbox), .unsubscribe(let mailbox), .getQuotaRoot(let mailbox):
        checkMailbox(mailbox)
    case .rename(let from, let to):
        checkMailbox(from)
        checkMailbox(to)
    case .status(let mailbox, let items):
        checkMailbox(mailbox)
        precondition(!items.isEmpty)
    case .append(let mailbox, let messages):
        checkMailbox(mailbox)
        for message in messages {
            checkFlags(message.flags)
            if let date = message.internalDate {
                let text = IMAPEncoding.dateTime(secondsSince1970: date.secondsSince1970, zoneOffsetMinutes: date.zoneOffsetMinutes)
                let again = parsed("a APPEND INBOX \"\(text)\" {0}\r\n")
                guard case .append(_, let reparsed) = again else { preconditionFailure("date-time did not round-trip: \(text)") }
                precondition(reparsed[0].internalDate?.secondsSince1970 == date.secondsSince1970, "date-time changed")
            }
        }
    case .fetch(let fetch):
        checkSet(fetch.sequence)
        precondition(!fetch.attributes.isEmpty && fetch.attributes.count <= FetchAttribute.maximumListCount)
        var builder = FetchResponseBuilder(sequenceNumber: 1)
        for attribute in fetch.attributes { builder.literal(attribute.responseName, [0x61]) }
        precondition(builder.bytes.last == 0x0A)
    case .store(let store):
        checkSet(store.sequence)
        checkFlags(store.flags)
    case .copy(_, let sequence, let mailbox), .move(_, let sequence, let mailbox):
        checkSet(sequence)
        checkMailbox(mailbox)
    case .uidExpunge(let sequence):
        checkSet(sequence)
    case .search(let search):
        precondition(depth(of: search.key) <= SearchKey.maximumDepth + 1, "SEARCH deeper than the cap")
    case .sort(_, _, _, let key, _), .thread(_, _, _, let key):
        precondition(depth(of: key) <= SearchKey.maximumDepth + 1, "SEARCH deeper than the cap")
    case .list(let list):
        checkMailbox(list.reference)
        precondition(!list.patterns.isEmpty)
    default:
        break
    }
}

private func parsed(_ text: String) -> IMAPCommandKind? {
    try? IMAPCommandParser.parse(Array(text.utf8)).kind
}

/// Normalised sets print and parse back to themselves; membership and expansion agree.
private func checkSet(_ set: SequenceSet?) {
    guard let set else { return }
    guard case .uidExpunge(let again) = parsed("a UID EXPUNGE " + set.encoded) else {
        preconditionFailure("sequence set did not reparse: \(set)")
    }
    precondition(again == set, "sequence set changed on reparse")
    for max: UInt32 in [0, 1, 7, 1000] {
        if let numbers = set.expanded(max: max, limit: 2000) {
            precondition(numbers.allSatisfy { set.contains($0, max: max) }, "expanded and contains disagree")
            precondition(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "expansion not ascending")
            if max <= 1000 {
                let count = (1...Swift.max(1, max)).filter { $0 <= max && set.contains($0, max: max) }.count
                precondition(count == numbers.count, "contains finds more than expanded")
            }
        }
    }
}

/// A flag list prints and parses back to itself.
private func checkFlags(_ flags: [Flag]) {
    guard case .store(let store) = parsed("a STORE 1 FLAGS " + Flag.listString(flags)) else {
        preconditionFailure("flags did not reparse")
    }
    precondition(store.flags == flags, "flags changed on reparse")
}

/// A decodable name encodes for the wire and decodes back to the same text, in both modes.
private func checkMailbox(_ mailbox: MailboxName) {
    for utf8 in [false, true] {
        guard let name = mailbox.decoded(utf8Enabled: utf8) else { continue }
        let wire = IMAPEncoding.mailbox(name, utf8Enabled: utf8)
        guard wire.utf8.count <= 1000 else { continue }
        guard case .delete(let again) = parsed("a DELETE " + wire) else { preconditionFailure("mailbox did not reparse: \(wire)") }
        let back = again.decoded(utf8Enabled: utf8)
        precondition(back == name || (mailbox.isInbox && back == "INBOX"), "mailbox name changed: \(name) -> \(back ?? "nil")")
    }
}

private func depth(of key: SearchKey) -> Int {
    switch key {
    case .not(let inner): 1 + depth(of: inner)
    case .or(let a, let b): 1 + max(depth(of: a), depth(of: b))
    case .and(let keys): 1 + (keys.map(depth(of:)).max() ?? 0)
    default: 0
    }
}
