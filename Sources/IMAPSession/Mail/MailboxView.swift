import AerieStorage

/// The selected mailbox exactly as this client has been told about it. Storage (`Mailbox`) follows the disk; this view
/// follows only what the session has sent, and every sequence number, flag list and count the session writes comes
/// from it. The rules it keeps (RFC 9051 §5.2, §7.5.1; RFC 3501 §2.3.2, §7.4.1; RFC 7162 §3.1.2.1):
///
/// 1. A message enters the view only when `* n EXISTS` is sent for it (`absorb` returns `exists`), so a FETCH, SEARCH
///    or STORE answer never names a sequence number the client has not heard of.
/// 2. A message leaves the view only when `* n EXPUNGE` (or VANISHED) is sent for it, and only for messages the view
///    holds. While a command that uses sequence numbers runs (FETCH, STORE, SEARCH, SORT, THREAD without UID)
///    expunges found on disk wait in `pendingExpunges`; the message keeps its sequence number, its record and its
///    flags as last told, and stays readable as far as its file is still there (Dovecot does the same; a body part of
///    a file that is really gone is answered NIL and the FETCH ends `OK [EXPUNGEISSUED]`, as Dovecot's imap-fetch.c).
/// 3. Flags are those last told: a FETCH FLAGS answers from the view's records, which change only when the session
///    announces a flag change (FETCH from a sync) or makes one itself (STORE, FETCH setting \Seen).
/// 4. A keyword is used in FETCH FLAGS only after it was sent in an untagged FLAGS (and PERMANENTFLAGS for a
///    read-write mailbox): `announcedKeywords` holds what was sent; `MailSession.announceKeywords` sends the rest.
/// 5. \Recent (IMAP4rev1 sessions only): the first read-write session that learns of a message claims it
///    (`Mailbox.claimRecent`), as Dovecot's first_recent_uid does; EXAMINE sees recent messages without claiming them.
/// 6. HIGHESTMODSEQ never runs ahead of changes not yet announced: it moves only when nothing is pending.
struct MailboxView {
    let mailbox: Mailbox
    let readOnly: Bool
    /// Announced messages in sequence-number order (ascending UID), with the flags last told.
    private(set) var messages: [MessageRecord]
    /// Messages gone from disk but not yet announced, because the running command forbids EXPUNGE responses.
    private(set) var pendingExpunges: Set<UInt32> = []
    /// Keywords sent in an untagged FLAGS, lowercased.
    var announcedKeywords: Set<String> = []
    /// UIDs that are \Recent in this session (empty for IMAP4rev2 sessions).
    private(set) var recent: Set<UInt32> = []
    /// The RECENT count last sent.
    var reportedRecent = 0
    /// The HIGHESTMODSEQ this session may report (see `reportableModSeq`).
    private(set) var highestModSeq: UInt64

    init(mailbox: Mailbox, readOnly: Bool) {
        self.mailbox = mailbox
        self.readOnly = readOnly
        self.messages = mailbox.messages
        self.highestModSeq = mailbox.highestModSeq
    }

    var count: Int { messages.count }
    /// UIDs in sequence-number order.
    var uids: [UInt32] { messages.map(\.uid) }
    var lastUID: UInt32 { messages.last?.uid ?? 0 }

    /// Sequence number (1-based) of a UID, if announced.
    func sequenceNumber(of uid: UInt32) -> Int? { position(of: uid).map { $0 + 1 } }

    private func position(of uid: UInt32) -> Int? {
        var low = 0
        var high = messages.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if messages[mid].uid == uid { return mid }
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// The record of an announced UID as last told.
    func record(uid: UInt32) -> MessageRecord? { position(of: uid).map { messages[$0] } }

    /// The view's records, for lookups by UID (FETCH, SEARCH): flags as told, expunged-but-unannounced ones included.
    func records() -> MessageRecords { MessageRecords(messages: messages) }

    func isRecent(_ uid: UInt32) -> Bool { recent.contains(uid) }

    /// Rule 6: storage's figure covers every change this session has announced or made, unless an expunge waits.
    mutating func reportableModSeq() -> UInt64 {
        if pendingExpunges.isEmpty { highestModSeq = max(highestModSeq, mailbox.highestModSeq) }
        return highestModSeq
    }

    /// With nothing pending the view holds what storage's snapshot holds: take that array, so sessions of one mailbox
    /// share one copy of its records instead of each keeping its own.
    mutating func share(_ snapshot: [MessageRecord]) {
        guard pendingExpunges.isEmpty, snapshot.count == messages.count, snapshot.first?.uid == messages.first?.uid,
            snapshot.last?.uid == lastUID
        else { return }
        messages = snapshot
    }

    /// EXPUNGE and CLOSE remove the messages the client knows as \Deleted (storage also checks the flag on disk).
    var deletedUIDs: [UInt32] {
        messages.lazy.filter { $0.flags.system.contains(.deleted) }.map(\.uid).filter { !pendingExpunges.contains($0) }
    }

    /// A change the session made itself and tells the client about (STORE, \Seen set by FETCH).
    mutating func update(_ record: MessageRecord) {
        guard let index = position(of: record.uid), !pendingExpunges.contains(record.uid) else { return }
        messages[index] = record
    }

    /// Messages claimed as \Recent for this session (rule 5).
    mutating func markRecent(from floor: UInt32) {
        for record in messages.reversed() {
            if record.uid < floor { break }
            if !pendingExpunges.contains(record.uid) { recent.insert(record.uid) }
        }
    }

    struct Notifications {
        var expunged: [(sequence: Int, uid: UInt32)] = []
        var vanished: [UInt32] = []
        var exists: Int?
        var flagChanges: [(sequence: Int, record: MessageRecord)] = []
    }

    /// Folds disk changes into the view (rules 1–3); expunges apply only when the command allows announcing them.
    mutating func absorb(_ changes: MailboxChanges, allowExpunge: Bool, highestModSeq newModSeq: UInt64? = nil)
        -> Notifications
    {
        var result = Notifications()
        for uid in changes.expunged where position(of: uid) != nil { pendingExpunges.insert(uid) }
        if allowExpunge && !pendingExpunges.isEmpty {
            let gone = pendingExpunges
            pendingExpunges = []
            var sequence = 1
            var kept: [MessageRecord] = []
            kept.reserveCapacity(messages.count)
            for record in messages {
                if gone.contains(record.uid) {
                    result.expunged.append((sequence, record.uid))
                    result.vanished.append(record.uid)
                    recent.remove(record.uid)
                } else {
                    kept.append(record)
                    sequence += 1
                }
            }
            messages = kept
        }
        // Own STOREs update the mailbox's view directly, so these are other sessions' and processes' changes only.
        for record in changes.flagsChanged {
            guard let index = position(of: record.uid), !pendingExpunges.contains(record.uid) else { continue }
            messages[index] = record
            result.flagChanges.append((index + 1, record))
        }
        let known = lastUID
        let added = changes.added.filter { $0.uid > known }
        if !added.isEmpty {
            messages += added
            result.exists = messages.count
        }
        if let newModSeq, pendingExpunges.isEmpty { highestModSeq = max(highestModSeq, newModSeq) }
        return result
    }
}

/// Records in UID order, for lookups by UID.
struct MessageRecords {
    let messages: [MessageRecord]

    func record(uid: UInt32) -> MessageRecord? {
        var low = 0
        var high = messages.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if messages[mid].uid == uid { return messages[mid] }
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }
}
