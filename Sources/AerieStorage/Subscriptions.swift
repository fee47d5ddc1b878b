/// The `subscriptions` file in Dovecot 2.x format: a "V\t2\n\n" header, then one mailbox per line with hierarchy levels
/// separated by tabs (tab-escaped with \001). The old format (one name per line, storage separator) is read too.
struct SubscriptionFile {
    static let fileName = "subscriptions"
    static let version2Header = Array(utf8: "V\t2\n\n")

    let path: String
    /// Separator of the old one-name-per-line format: the on-disk one of the layout ('.' for Maildir++).
    let legacySeparator: Character
    let lockTimeout: Int
    let durable: Bool

    /// Subscribed names, UTF-8, "/"-separated, in file order.
    func read() throws(StorageError) -> [String] {
        guard let bytes = try FS.readFile(path) else { return [] }
        return Self.parse(bytes, legacySeparator: legacySeparator)
    }

    static func parse(_ bytes: [UInt8], legacySeparator: Character) -> [String] {
        let isV2 = bytes.starts(with: version2Header)
        let body = isV2 ? Array(bytes[version2Header.count...]) : bytes
        var names: [String] = []
        var seen = Set<String>()
        for line in splitLines(body).lines where !line.isEmpty {
            let levels = isV2 ? line.split(separator: "\t", omittingEmptySubsequences: false).map { unescape($0) }
                : line.split(separator: legacySeparator, omittingEmptySubsequences: false).map(String.init)
            let name = levels.map { ModifiedUTF7.decode($0) ?? $0 }.joined(separator: "/")
            let normalized = MailboxNames.isInbox(name) ? "INBOX" : name
            if seen.insert(normalized).inserted { names.append(normalized) }
        }
        return names
    }

    /// Adds or removes `name`; rewrites in v2 format under Dovecot's lock-and-replace protocol.
    func set(_ name: String, subscribed: Bool) throws(StorageError) {
        let name = MailboxNames.isInbox(name) ? "INBOX" : name
        let legacy = legacySeparator
        try DotLock.update(path, durable: durable, timeoutSeconds: lockTimeout) { current throws(StorageError) in
            var names = current.map { Self.parse($0, legacySeparator: legacy) } ?? []
            let present = names.contains(name)
            if present == subscribed { return nil }
            if subscribed && !present { names.append(name) }
            if !subscribed { names.removeAll { $0 == name } }
            return Self.serialize(names)
        }
    }

    static func serialize(_ names: [String]) -> [UInt8] {
        var text = "V\t2\n\n"
        for name in names {
            text += name.split(separator: "/", omittingEmptySubsequences: false)
                .map { escape(ModifiedUTF7.encode(String($0))) }.joined(separator: "\t") + "\n"
        }
        return Array(utf8: text)
    }

    /// Dovecot's str_append_tabescaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "\u{01}": out += "\u{01}1"
            case "\t": out += "\u{01}t"
            case "\r": out += "\u{01}r"
            case "\n": out += "\u{01}n"
            default: out.append(ch)
            }
        }
        return out
    }

    static func unescape(_ s: Substring) -> String {
        var out = ""
        var escaping = false
        for ch in s {
            if escaping {
                switch ch {
                case "1": out += "\u{01}"
                case "t": out += "\t"
                case "r": out += "\r"
                case "n": out += "\n"
                default: out.append(ch)
                }
                escaping = false
            } else if ch == "\u{01}" {
                escaping = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
