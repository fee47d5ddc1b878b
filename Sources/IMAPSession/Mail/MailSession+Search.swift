import AerieMIME

#if canImport(Glibc)
    import Glibc
#endif
import AerieStorage
import IMAPProtocol

/// SEARCH with ESEARCH and SEARCHRES (RFC 9051 §6.4.4, RFC 4731, RFC 5182, RFC 7162 §3.1.5).
extension MailSession {
    /// The messages of the view that `key` matches, in sequence order (SEARCH, SORT and THREAD share it). One that
    /// runs past `imap_search_time_limit` ends with NO [LIMIT] (RFC 5530 §3), so one user's body searches over a
    /// huge mailbox cannot occupy the mail pool for minutes.
    func matching(_ key: SearchKey, in selected: MailboxView) throws -> [(sequence: Int, record: MessageRecord)] {
        let now = Int64(Glibc.time(nil))
        let deadline = ContinuousClock.now + settings.searchTimeLimit
        var matches: [(sequence: Int, record: MessageRecord)] = []
        // The view's records are in sequence order; `uids` is computed, so it is not asked per message.
        let lastUID = selected.lastUID
        for (index, record) in selected.records().messages.enumerated() {
            if ContinuousClock.now > deadline {
                throw CommandFailure(.no, .limit, "Search took too long: narrow it down.")
            }
            var message = MessageData(mailbox: selected.mailbox, record: record)
            var context = SearchContext(
                sequence: index + 1, count: selected.count, lastUID: lastUID, now: now,
                saved: savedSearch, recent: selected.recent)
            do {
                if try evaluate(key, record: record, message: &message, context: &context) {
                    matches.append((index + 1, record))
                }
            } catch StorageError.messageNotFound {
                continue  // expunged elsewhere, not yet announced: its file is gone, so its text matches nothing
            }
        }
        return matches
    }

    /// RFC 4731 §3.1 ESEARCH for SEARCH, and for SORT as RFC 5267 §3.1 adapts it: `numbers` (and the same messages'
    /// `uids`) come in result order, so MIN and MAX are the first and last of that order and ALL keeps it.
    /// RFC 5182 §2.4: SAVE keeps every match in `$`, or only the MIN/MAX messages when nothing else but MIN/MAX was
    /// asked for; SAVE alone sends no ESEARCH at all.
    /// RFC 4731 §3.2: with only MIN and/or MAX asked, MODSEQ is the highest of those messages' (from `modSeqs`, in
    /// the order of `numbers`), not of every match.
    /// RFC 5267 §4.4: PARTIAL reports the matches at those positions of the result; with SAVE (and no COUNT) only
    /// they are saved, as Dovecot does.
    func answerExtended(
        _ returnOptions: [SearchReturnOption], tag: IMAPTag, uid: Bool, numbers: [UInt32], uids: [UInt32],
        modSeq: UInt64?, modSeqs: [UInt64] = [], partial: SearchPartialRange? = nil
    ) -> IMAPResponse? {
        let options = Set(returnOptions)
        let reported = options.subtracting([.save, .context])
        if options.contains(.save), let partial, !options.contains(.count) {
            savedSearch = Array(partial.slice(uids))
        } else if options.contains(.save) {
            if !reported.isEmpty, reported.isSubset(of: [.min, .max]), let first = uids.first, let last = uids.last {
                savedSearch = reported.contains(.min) ? [first] : []
                if reported.contains(.max), last != first || savedSearch.isEmpty { savedSearch.append(last) }
            } else {
                savedSearch = uids
            }
        }
        guard !reported.isEmpty else { return nil }
        var modSeq = modSeq
        if modSeq != nil, reported.isSubset(of: [.min, .max]), let first = modSeqs.first, let last = modSeqs.last {
            modSeq = max(reported.contains(.min) ? first : 0, reported.contains(.max) ? last : 0)
        }
        return .untagged(
            IMAPResponseLine.esearch(
                tag: tag, uid: uid,
                min: reported.contains(.min) ? numbers.first : nil,
                max: reported.contains(.max) ? numbers.last : nil,
                count: reported.contains(.count) ? numbers.count : nil,
                all: reported.contains(.all) ? numbers : nil,
                partial: partial.map { ($0, Array($0.slice(numbers))) }, modSeq: modSeq))
    }

    struct SearchContext {
        var sequence: Int
        var count: Int
        var lastUID: UInt32
        var now: Int64
        var saved: [UInt32]
        /// This session's \Recent messages (RFC 3501 §2.3.2; empty for IMAP4rev2 sessions).
        var recent: Set<UInt32> = []
    }

    func evaluate(_ key: SearchKey, record: MessageRecord, message: inout MessageData, context: inout SearchContext)
        throws -> Bool
    {
        let system = record.flags.system
        switch key {
        case .all: return true
        case .answered: return system.contains(.answered)
        case .deleted: return system.contains(.deleted)
        case .draft: return system.contains(.draft)
        case .flagged: return system.contains(.flagged)
        case .seen: return system.contains(.seen)
        case .unanswered: return !system.contains(.answered)
        case .undeleted: return !system.contains(.deleted)
        case .undraft: return !system.contains(.draft)
        case .unflagged: return !system.contains(.flagged)
        case .unseen: return !system.contains(.seen)
        // RFC 3501 §6.4.4: NEW is RECENT UNSEEN; OLD is NOT RECENT.
        case .new: return context.recent.contains(record.uid) && !system.contains(.seen)
        case .recent: return context.recent.contains(record.uid)
        case .old: return !context.recent.contains(record.uid)
        case .keyword(let name): return record.flags.contains(keyword: name)
        case .unkeyword(let name): return !record.flags.contains(keyword: name)
        case .bcc(let text): return try addressContains("Bcc", text, &message)
        case .cc(let text): return try addressContains("Cc", text, &message)
        case .from(let text): return try addressContains("From", text, &message)
        case .to(let text): return try addressContains("To", text, &message)
        case .subject(let text): return try headerContains("Subject", text, &message)
        case .header(let name, let value): return try headerContains(name, value, &message)
        case .body(let text):
            return Self.contains(try message.parsed().searchableText(headers: false, body: true), text)
        case .text(let text):
            return Self.contains(try message.parsed().searchableText(headers: true, body: true), text)
        case .before(let date): return Self.day(record.internalDate) < date.daysSince1970
        case .on(let date): return Self.day(record.internalDate) == date.daysSince1970
        case .since(let date): return Self.day(record.internalDate) >= date.daysSince1970
        // RFC 3501 §6.4.4: the Date header's own date, its time and zone disregarded.
        case .sentBefore(let date):
            return try Self.day(message.parsed().sentLocalDate) < date.daysSince1970
        case .sentOn(let date):
            return try Self.day(message.parsed().sentLocalDate) == date.daysSince1970
        case .sentSince(let date):
            return try Self.day(message.parsed().sentLocalDate) >= date.daysSince1970
        case .savedBefore(let date): return Self.day(record.saveDate) < date.daysSince1970
        case .savedOn(let date): return Self.day(record.saveDate) == date.daysSince1970
        case .savedSince(let date): return Self.day(record.saveDate) >= date.daysSince1970
        case .saveDateSupported: return true
        case .older(let seconds): return record.internalDate <= context.now - Int64(seconds)
        case .younger(let seconds): return record.internalDate >= context.now - Int64(seconds)
        case .larger(let size): return UInt64(record.virtualSize) > size
        case .smaller(let size): return UInt64(record.virtualSize) < size
        case .sequenceNumbers(let set):
            if set.isSearchResult { return context.saved.contains(record.uid) }
            return set.contains(UInt32(context.sequence), max: UInt32(context.count))
        case .uid(let set):
            if set.isSearchResult { return context.saved.contains(record.uid) }
            return set.contains(record.uid, max: context.lastUID)
        case .modSeq(let modSeq, _): return record.modSeq >= modSeq
        case .emailID(let id): return message.mailbox.emailID(uid: record.uid) == id
        case .threadID: return false  // THREADID is NIL for every message (RFC 8474 §5.2 allows it)
        case .not(let inner): return try !evaluate(inner, record: record, message: &message, context: &context)
        case .or(let left, let right):
            return try evaluate(left, record: record, message: &message, context: &context)
                || evaluate(right, record: record, message: &message, context: &context)
        case .and(let keys):
            for inner in keys where try !evaluate(inner, record: record, message: &message, context: &context) {
                return false
            }
            return true
        }
    }

    func headerContains(_ name: String, _ text: String, _ message: inout MessageData) throws -> Bool {
        let values = try message.parsed().decodedHeaderValue(name)
        // RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
        if text.isEmpty { return !values.isEmpty }
        return values.contains { Self.contains($0, text) }
    }

    /// RFC 3501 §6.4.4 FROM/TO/CC/BCC: a substring of the field's addresses, written out in one normal form.
    func addressContains(_ name: String, _ text: String, _ message: inout MessageData) throws -> Bool {
        try message.parsed().searchableAddresses(name).contains { Self.contains($0, text) }
    }

    /// Case-insensitive substring match, as RFC 9051 §6.4.4 asks.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        needle.isEmpty || haystack.lowercased().contains(needle.lowercased())
    }

    static func day(_ seconds: Int64) -> Int64 {
        seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    }
}

extension SearchKey {
    var mentionsModSeq: Bool {
        switch self {
        case .modSeq: true
        case .not(let inner): inner.mentionsModSeq
        case .or(let a, let b): a.mentionsModSeq || b.mentionsModSeq
        case .and(let keys): keys.contains { $0.mentionsModSeq }
        default: false
        }
    }
}
