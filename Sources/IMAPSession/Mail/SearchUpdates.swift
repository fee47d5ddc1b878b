import AerieStorage
import IMAPProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 5267 §4 (CONTEXT=SEARCH): the live results of this session's `SEARCH RETURN (UPDATE)` commands.
///
/// Rules kept here:
/// - A context belongs to the selection it was made in; SELECT, EXAMINE, CLOSE and UNSELECT end it (§4.2).
/// - Each time the session announces changes, every context is searched again over the messages the client knows;
///   what left the result is sent as REMOVEFROM before any EXPUNGE of that round, numbered as the client knew the
///   messages before it (expunged messages leave the result too); what joined it is sent as ADDTO after the EXISTS
///   and FETCH responses, numbered as the client now knows them. The position is 0 (a SEARCH result is unordered).
/// - A message expunged on disk but not yet announced keeps its place in the result until it is announced.
/// - Only messages whose modseq moved (or that are new) are searched again, unless the key depends on sequence
///   numbers, `$` or the clock, which change without the message changing.
/// - At most `limit` contexts; one more is refused with `* NO [NOUPDATE "tag"]` and searched once (§4.2).
struct SearchUpdates {
    struct Context {
        let tag: String
        let uid: Bool
        let key: SearchKey
        /// UIDs in the result as the client was last told.
        var matched: Set<UInt32>
        /// Messages at or below this UID with a modseq at or below `evaluatedModSeq` were searched already.
        var evaluatedUID: UInt32
        var evaluatedModSeq: UInt64
    }

    /// Dovecot's CLIENT_MAX_SEARCH_UPDATES.
    static let limit = 10

    private(set) var contexts: [Context] = []
    /// The selected mailbox the contexts were made in.
    private weak var selection: Mailbox?

    var isEmpty: Bool { contexts.isEmpty }

    func contains(tag: String) -> Bool { contexts.contains { $0.tag == tag } }

    /// Drops every context when `mailbox` is not the selection they were made in.
    mutating func follow(_ mailbox: Mailbox?) {
        if mailbox == nil || selection !== mailbox {
            contexts = []
            selection = mailbox
        }
    }

    mutating func add(_ context: Context, in mailbox: Mailbox) {
        follow(mailbox)
        contexts.append(context)
    }

    /// RFC 5267 §4.3: false when a tag names no context (nothing is cancelled then).
    mutating func cancel(tags: [String]) -> Bool {
        guard tags.allSatisfy(contains(tag:)) else { return false }
        contexts.removeAll { tags.contains($0.tag) }
        return true
    }

    mutating func replace(_ updated: [Context]) { contexts = updated }
}

/// What one round of search updates found, between announcing removals and additions.
struct SearchUpdateRound {
    fileprivate var additions: [(tag: String, uid: Bool, uids: [UInt32])] = []
}

extension MailSession {
    /// RFC 5267 §4.2: keeps `SEARCH RETURN (UPDATE)`'s result up to date from now on.
    func startSearchUpdates(
        _ command: SearchCommand, tag: IMAPTag, matches: [MessageRecord], in selected: MailboxView
    ) -> IMAPResponse? {
        searchUpdates.follow(selected.mailbox)
        guard searchUpdates.contexts.count < SearchUpdates.limit, !searchUpdates.contains(tag: tag.rawValue) else {
            let quoted = IMAPEncoding.quotedOrLiteral(tag.rawValue, utf8Allowed: false)
            return .untaggedStatus(.no, .other("NOUPDATE " + quoted), "Too many updating searches.")
        }
        let records = selected.records().messages
        let context = SearchUpdates.Context(
            tag: tag.rawValue, uid: command.uid, key: command.key, matched: Set(matches.map(\.uid)),
            evaluatedUID: selected.uids.last ?? 0, evaluatedModSeq: records.map(\.modSeq).max() ?? 0)
        searchUpdates.add(context, in: selected.mailbox)
        return nil
    }

    /// Searches every context again over `current` (the view after this round's changes) and sends REMOVEFROM,
    /// numbered as in `announced` (the view before them); the additions are kept for `announceSearchAdditions`.
    func announceSearchRemovals(
        announced: MailboxView, current: MailboxView, output: any IMAPOutput
    )
        -> SearchUpdateRound
    {
        var round = SearchUpdateRound()
        searchUpdates.follow(current.mailbox)
        guard !searchUpdates.isEmpty else { return round }
        let records = current.records()
        let highestModSeq = records.messages.map(\.modSeq).max() ?? 0
        let now = Int64(Glibc.time(nil))
        var updated: [SearchUpdates.Context] = []
        for var context in searchUpdates.contexts {
            let full = context.key.changesWithoutTheMessage
            var matched: Set<UInt32> = []
            for (index, uid) in current.uids.enumerated() {
                // Expunged on disk but not announced yet: it stays as the client knows it.
                guard let record = records.record(uid: uid) else {
                    if context.matched.contains(uid) { matched.insert(uid) }
                    continue
                }
                if !full && uid <= context.evaluatedUID && record.modSeq <= context.evaluatedModSeq {
                    if context.matched.contains(uid) { matched.insert(uid) }
                    continue
                }
                var message = MessageData(mailbox: current.mailbox, record: record)
                var searchContext = SearchContext(
                    sequence: index + 1, count: current.count, lastUID: current.lastUID, now: now,
                    saved: savedSearch, recent: current.recent)
                // A message that cannot be read now keeps its place; the next round tries again.
                guard let hit = try? evaluate(context.key, record: record, message: &message, context: &searchContext)
                else {
                    if context.matched.contains(uid) { matched.insert(uid) }
                    continue
                }
                if hit { matched.insert(uid) }
            }
            let removed = context.matched.subtracting(matched)
            let added = matched.subtracting(context.matched)
            if !removed.isEmpty {
                let numbers =
                    context.uid
                    ? removed.sorted()
                    : removed.compactMap(announced.sequenceNumber(of:)).map(UInt32.init)
                        .sorted()
                output.send(
                    .untagged(
                        IMAPResponseLine.esearchUpdate(
                            tag: context.tag, uid: context.uid, removeFrom: numbers, addTo: [])))
            }
            if !added.isEmpty { round.additions.append((context.tag, context.uid, added.sorted())) }
            context.matched = matched
            context.evaluatedUID = current.lastUID
            context.evaluatedModSeq = highestModSeq
            updated.append(context)
        }
        searchUpdates.replace(updated)
        return round
    }

    /// Sends the ADDTO half of a round, once the client knows the added messages (after EXISTS).
    func announceSearchAdditions(_ round: SearchUpdateRound, current: MailboxView, output: any IMAPOutput) {
        for addition in round.additions {
            let numbers =
                addition.uid ? addition.uids : addition.uids.compactMap(current.sequenceNumber(of:)).map(UInt32.init)
            output.send(
                .untagged(
                    IMAPResponseLine.esearchUpdate(tag: addition.tag, uid: addition.uid, removeFrom: [], addTo: numbers)
                ))
        }
    }
}

extension SearchKey {
    /// Keys whose answer can change while the message does not: sequence numbers, `$`, and the clock.
    var changesWithoutTheMessage: Bool {
        switch self {
        case .sequenceNumbers, .older, .younger: true
        case .uid(let set): set.isSearchResult
        case .not(let inner): inner.changesWithoutTheMessage
        case .or(let a, let b): a.changesWithoutTheMessage || b.changesWithoutTheMessage
        case .and(let keys): keys.contains { $0.changesWithoutTheMessage }
        default: false
        }
    }
}
