/// `dovecot-keywords`: "<index> <keyword>" lines; the index is the letter a–z used in Maildir file names.
struct KeywordTable: Equatable {
    /// Maildir file names have 26 keyword letters.
    static let maximum = 26
    static let fileName = "dovecot-keywords"

    private(set) var names: [String?] = []

    func name(at index: Int) -> String? { index < names.count ? names[index] : nil }

    func index(of keyword: String) -> Int? {
        let lower = keyword.lowercased()
        return names.firstIndex { $0?.lowercased() == lower }
    }

    static func parse(_ bytes: [UInt8]) -> KeywordTable {
        var table = KeywordTable()
        for line in splitLines(bytes).lines {
            guard let space = line.firstIndex(of: " "), let index = Int(line[..<space]), index >= 0,
                index < maximum
            else { continue }
            let name = String(line[line.index(after: space)...])
            guard !name.isEmpty else { continue }
            while table.names.count <= index { table.names.append(nil) }
            table.names[index] = name
        }
        return table
    }

    func serialize() -> [UInt8] {
        var text = ""
        for (index, name) in names.enumerated() {
            if let name { text += "\(index) \(name)\n" }
        }
        return Array(utf8: text)
    }

    /// Adds missing keywords; returns the indexes for `keywords` (those beyond 26 are left out, as Maildir cannot name
    /// them: callers refuse the change then).
    mutating func indexes(for keywords: [String], adding: Bool) -> (indexes: [Int], changed: Bool) {
        var result: [Int] = []
        var changed = false
        for keyword in keywords {
            if let index = index(of: keyword) {
                result.append(index)
            } else if adding {
                if let free = names.firstIndex(of: nil) {
                    names[free] = keyword
                    result.append(free)
                    changed = true
                } else if names.count < Self.maximum {
                    names.append(keyword)
                    result.append(names.count - 1)
                    changed = true
                }
            }
        }
        return (result, changed)
    }
}

/// The table plus the file identity it was read from, so a change by Dovecot is noticed cheaply.
struct KeywordFile {
    let path: String
    private(set) var table = KeywordTable()
    private var stamp: FileStat?
    /// The most read of dovecot-keywords.
    static let sizeLimit = 64 * 1024

    init(directory: String) { path = "\(directory)/\(KeywordTable.fileName)" }

    /// Re-reads only when the file changed; returns true when it did.
    @discardableResult
    mutating func refresh() throws(StorageError) -> Bool {
        let current = FS.stat(path)
        if current == stamp && stamp != nil { return false }
        if current == nil && stamp == nil && table.names.isEmpty { return false }
        stamp = current
        let old = table
        // A Maildir has 26 keyword letters: a file far larger than their names is not read whole.
        table = try FS.readFile(path, atMost: Self.sizeLimit).map(KeywordTable.parse) ?? KeywordTable()
        return old != table
    }

    /// Indexes for `keywords`, adding new ones to the file under Dovecot's lock-and-replace protocol.
    mutating func indexes(for keywords: [String], durable: Bool, lockTimeout: Int) throws(StorageError) -> [Int] {
        guard !keywords.isEmpty else { return [] }
        try refresh()
        var probe = table
        if probe.indexes(for: keywords, adding: false).indexes.count == keywords.count {
            return probe.indexes(for: keywords, adding: false).indexes
        }
        var result: [Int] = []
        var final = table
        try DotLock.update(path, durable: durable, timeoutSeconds: lockTimeout) { current throws(StorageError) in
            // Re-read under the lock: another writer may have added keywords since.
            var updated = current.map(KeywordTable.parse) ?? KeywordTable()
            let (indexes, changed) = updated.indexes(for: keywords, adding: true)
            result = indexes
            final = updated
            return changed ? updated.serialize() : nil
        }
        table = final
        stamp = FS.stat(path)
        // A keyword that got no letter would be lost silently: refuse the whole change instead.
        if Set(result).count < Set(keywords.map { $0.lowercased() }).count { throw .tooManyKeywords }
        return result
    }
}

extension Mailbox {
    /// RFC 9051 §7.1 (PERMANENTFLAGS `\*`): a new keyword can be stored only while one of the 26 letters is free.
    public var acceptsNewKeywords: Bool { keywords.count < KeywordTable.maximum }
}
