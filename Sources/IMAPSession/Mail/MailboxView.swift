import AerieStorage

/// The selected mailbox as this client has been told about it: sequence numbers map to UIDs only through this view,
/// which changes solely when we announce EXISTS/EXPUNGE (RFC 9051 §7.5.1, §7.4.1).
struct MailboxView {
    let mailbox: Mailbox
    let readOnly: Bool
    /// UIDs in sequence-number order, as announced.
    private(set) var uids: [UInt32]
    /// Expunges seen on disk but not yet announced, because the current command forbids EXPUNGE responses.
    private(set) var pendingExpunges: [UInt32] = []

    init(mailbox: Mailbox, readOnly: Bool) {
        self.mailbox = mailbox
        self.readOnly = readOnly
        self.uids = mailbox.messages.map(\.uid)
    }

    var count: Int { uids.count }

    /// Sequence number (1-based) of a UID, if announced.
    func sequenceNumber(of uid: UInt32) -> Int? {
        var low = 0
        var high = uids.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if uids[mid] == uid { return mid + 1 }
            if uids[mid] < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// The storage record of an announced UID; nil if it vanished from disk meanwhile.
    func record(uid: UInt32) -> MessageRecord? { records().record(uid: uid) }

    /// The mailbox's records as they are now, taken under its lock once: a FETCH or SEARCH over many messages looks
    /// them up here instead of locking once per message.
    func records() -> MessageRecords { MessageRecords(messages: mailbox.messages) }

    struct Notifications {
        var expunged: [(sequence: Int, uid: UInt32)] = []
        var vanished: [UInt32] = []
        var exists: Int?
        var flagChanges: [(sequence: Int, record: MessageRecord)] = []
    }

    /// Folds disk changes into the view; expunges are applied only when the command allows announcing them.
    mutating func absorb(_ changes: MailboxChanges, allowExpunge: Bool) -> Notifications {
        var result = Notifications()
        pendingExpunges += changes.expunged
        if allowExpunge && !pendingExpunges.isEmpty {
            let gone = Set(pendingExpunges)
            pendingExpunges = []
            var index = 0
            var sequence = 1
            var kept: [UInt32] = []
            kept.reserveCapacity(uids.count)
            while index < uids.count {
                let uid = uids[index]
                if gone.contains(uid) {
                    result.expunged.append((sequence, uid))
                    result.vanished.append(uid)
                } else {
                    kept.append(uid)
                    sequence += 1
                }
                index += 1
            }
            uids = kept
        }
        let known = uids.last ?? 0
        let added = changes.added.filter { $0.uid > known }.map(\.uid)
        if !added.isEmpty {
            uids += added
            result.exists = uids.count
        }
        // Own STOREs update the mailbox's view directly, so these are other sessions' and processes' changes only.
        for record in changes.flagsChanged {
            guard let sequence = sequenceNumber(of: record.uid) else { continue }
            result.flagChanges.append((sequence, record))
        }
        return result
    }
}

/// The storage records of a mailbox in UID order, for lookups by UID.
struct MessageRecords {
    let messages: [MessageRecord]

    /// nil if the UID vanished from disk.
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
