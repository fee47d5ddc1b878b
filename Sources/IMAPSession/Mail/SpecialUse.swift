import IMAPProtocol

/// RFC 6154 §2 special-use attributes, and which of them CREATE … USE (§3) can give a mailbox here.
enum SpecialUse {
    static let attributes = ["\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"]
    /// RFC 6154 §2: \All and \Flagged almost certainly name virtual mailboxes, which a Maildir store cannot make.
    static let virtual: Set<String> = ["\\All", "\\Flagged"]

    /// The attribute as RFC 6154 spells it; attributes, like flags, compare case-insensitively.
    static func canonical(_ attribute: String) -> String? {
        let lowered = attribute.lowercased()
        return attributes.first { $0.lowercased() == lowered }
    }

    /// RFC 6154 §3: the attributes to store, or a NO [USEATTR] that must leave the mailbox uncreated.
    static func attributesForCreate(_ requested: [String]) throws -> [String] {
        var accepted: [String] = []
        for attribute in requested {
            guard let known = canonical(attribute) else {
                throw CommandFailure(.no, .useAttribute, "Unsupported special-use attribute \(attribute).")
            }
            if virtual.contains(known) {
                throw CommandFailure(
                    .no, .useAttribute, "\(known) needs a virtual mailbox, which this server cannot create.")
            }
            if !accepted.contains(known) { accepted.append(known) }
        }
        return accepted
    }
}
