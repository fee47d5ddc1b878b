/// The special-use attributes a client gave a mailbox with CREATE … USE (RFC 6154 §3), one per line, in a small file
/// inside the mailbox's own directory: RENAME moves it and DELETE removes it with the mailbox, in both layouts.
///
/// Dovecot keeps the same thing as the mailbox attribute `/private/specialuse`; a file is what a Maildir tree can carry.
/// The name starts with a dot so it can never be a mailbox level (LAYOUT=fs refuses hidden levels, and a Maildir++
/// folder's directory holds no child folders); Dovecot takes no regular file in a mailbox directory for a mailbox or a
/// message, so the tree stays readable by Dovecot.
struct SpecialUseFile {
    static let fileName = ".aerie-special-use"
    /// A hand-edited or damaged file is read only this far.
    static let maxSize = 4096

    let path: String
    let durable: Bool

    init(directory: String, durable: Bool) {
        path = "\(directory)/\(Self.fileName)"
        self.durable = durable
    }

    /// The stored attributes in file order; none when the file is missing or unreadable. Of an oversized file only the
    /// whole lines in its first `maxSize` octets count, read without reading the rest.
    func read() -> [String] {
        guard let bytes = try? FS.readFile(path, atMost: Self.maxSize + 1) else { return [] }
        guard bytes.count > Self.maxSize else { return Self.parse(bytes) }
        // The octet past the bound shows whether the last line ended there; a cut-off `\Arch` is not `\Archive`.
        guard let lastNewline = bytes.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        return Self.parse(Array(bytes[...lastNewline]))
    }

    static func parse(_ bytes: [UInt8]) -> [String] {
        var attributes: [String] = []
        for line in splitLines(bytes).lines {
            let attribute = String(line).trimmingWhitespace()
            if isStorable(attribute) && !attributes.contains(attribute) { attributes.append(attribute) }
        }
        return attributes
    }

    /// Written to a temporary file and renamed, mode 0600, so a crash leaves the old list or the new one.
    func write(_ attributes: [String]) throws(StorageError) {
        let text = attributes.filter(Self.isStorable).map { $0 + "\n" }.joined()
        try FS.writeAtomically(path, Array(text.utf8), durable: durable)
    }

    /// A flag-like word (`\Archive`): nothing that could break a line of the file or of a LIST response.
    static func isStorable(_ attribute: String) -> Bool {
        attribute.utf8.count > 1 && attribute.utf8.count <= 64 && attribute.hasPrefix("\\")
            && attribute.utf8.dropFirst().allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F
            }
    }
}
