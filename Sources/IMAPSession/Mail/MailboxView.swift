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
    /// Flags as last announced, to detect changes made by other sessions.
    private var announcedFlags: [UInt32: MessageFlags]

    init(mailbox: Mailbox, readOnly: Bool) {
        self.mailbox = mailbox
        self.readOnly = readOnly
        self.uids = mailbox.messages.map(\.uid)
        self.announcedFlags = Dictionary(uniqueKeysWithValues: mailbox.messages.map { ($0.uid, $0.flags) })
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
    func record(uid: UInt32) -> MessageRecord? {
        let messages = mailbox.messages
        var low = 0
        var high = messages.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if messages[mid].uid == uid { return messages[mid] }
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// Our own STORE already reported these flags; don't announce them again as someone else's change.
    mutating func noteAnnounced(_ record: MessageRecord) {
        announcedFlags[record.uid] = record.flags
    }

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
                    announcedFlags[uid] = nil
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
            for record in changes.added { announcedFlags[record.uid] = record.flags }
            result.exists = uids.count
        }
        for record in changes.flagsChanged {
            guard let sequence = sequenceNumber(of: record.uid), announcedFlags[record.uid] != record.flags else { continue }
            announcedFlags[record.uid] = record.flags
            result.flagChanges.append((sequence, record))
        }
        return result
    }
}
