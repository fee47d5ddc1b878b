/// One line of a Dovecot passwd-file: `user:password:uid:gid:gecos:home:shell:extra_fields`.
/// Secrets: `password` holds the stored hash; never log an entry.
public struct PasswdFileEntry: Sendable, Equatable {
    public var user: String
    /// The stored value, `{SCHEME}hash` or bare; empty when the field is empty or missing.
    public var password: String
    /// nil when the field is empty or missing (the mail user then comes from configuration).
    public var uid: UInt32?
    public var gid: UInt32?
    public var gecos: String
    public var home: String
    public var shell: String
    /// `key=value` pairs from the 8th field; a bare key has an empty value.
    public var extraFields: [String: String]

    public init(
        user: String, password: String = "", uid: UInt32? = nil, gid: UInt32? = nil, gecos: String = "",
        home: String = "", shell: String = "", extraFields: [String: String] = [:]
    ) {
        self.user = user
        self.password = password
        self.uid = uid
        self.gid = gid
        self.gecos = gecos
        self.home = home
        self.shell = shell
        self.extraFields = extraFields
    }
}

/// Parses passwd-file text (Dovecot db-passwd-file.c). Bad lines are skipped and reported by line number only,
/// so a problem report never carries a hash.
public enum PasswdFileParser {
    public static let maximumLineLength = 64 * 1024

    public struct Problem: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    public struct Result: Sendable {
        /// First entry wins for a user listed twice, as in Dovecot.
        public var entries: [String: PasswdFileEntry]
        public var problems: [Problem]
    }

    /// Extra fields Aerie acts on; any other is reported once per file load as ignored.
    public static let honouredExtraFields: Set<String> = [
        "uid", "gid", "home", "userdb_uid", "userdb_gid", "userdb_home", "allow_nets", "nologin", "reason",
    ]

    public static func parse(_ bytes: [UInt8]) -> Result {
        var entries: [String: PasswdFileEntry] = [:]
        var problems: [Problem] = []
        var ignored: Set<String> = []  // each ignored extra field is reported once per load
        var lineNumber = 0
        for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard rawLine.count <= maximumLineLength else {
                problems.append(Problem(line: lineNumber, reason: "line too long"))
                continue
            }
            var line = rawLine
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard let text = String(validating: line, as: UTF8.self) else {
                problems.append(Problem(line: lineNumber, reason: "invalid UTF-8"))
                continue
            }
            switch parseLine(text) {
            case .skip: continue
            case .problem(let reason): problems.append(Problem(line: lineNumber, reason: reason))
            case .entry(let entry):
                for key in entry.extraFields.keys.sorted() where !honouredExtraFields.contains(key) {
                    guard ignored.insert(key).inserted else { continue }
                    problems.append(Problem(line: lineNumber, reason: "extra field \(key) is ignored by Aerie"))
                }
                if entries[entry.user] == nil {
                    entries[entry.user] = entry
                } else {
                    problems.append(Problem(line: lineNumber, reason: "user listed more than once; first entry kept"))
                }
            }
        }
        return Result(entries: entries, problems: problems)
    }

    enum LineResult: Equatable {
        case skip
        case entry(PasswdFileEntry)
        case problem(String)
    }

    static func parseLine(_ line: String) -> LineResult {
        // Dovecot skips empty lines and lines whose first non-blank character is '#'.
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        if trimmed.isEmpty || trimmed.first == "#" { return .skip }
        let fields = line.split(separator: ":", maxSplits: 7, omittingEmptySubsequences: false).map(String.init)
        let user = fields[0]
        guard !user.isEmpty else { return .problem("empty user name") }
        func field(_ index: Int) -> String { index < fields.count ? fields[index] : "" }
        var entry = PasswdFileEntry(user: user, password: field(1))
        for (index, name) in [(2, "UID"), (3, "GID")] {
            let text = field(index)
            guard !text.isEmpty else { continue }
            guard let number = UInt32(text) else { return .problem("invalid \(name)") }
            if index == 2 { entry.uid = number } else { entry.gid = number }
        }
        entry.gecos = field(4)
        entry.home = field(5)
        entry.shell = field(6)
        // The 8th field keeps any further ':' (Dovecot joins the rest back).
        entry.extraFields = parseExtraFields(field(7))
        return .entry(entry)
    }

    /// Space-separated `key=value` (value may contain '='); a bare key is a flag with an empty value.
    static func parseExtraFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for item in text.split(separator: " ", omittingEmptySubsequences: true) {
            if let equals = item.firstIndex(of: "=") {
                fields[String(item[..<equals])] = String(item[item.index(after: equals)...])
            } else {
                fields[String(item)] = ""
            }
        }
        return fields
    }
}
