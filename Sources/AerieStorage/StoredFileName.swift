/// A Maildir file name as the index keeps it: usually a slice of the buffer the index file was read into, so opening a
/// mailbox of 100,000 messages costs one allocation for all names and a String only for a name someone asks for.
final class SharedBytes: Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

struct StoredFileName: Sendable, Equatable {
    // One reference and a range, not an enum of String or slice: records are copied a lot (snapshots, views), and a
    // single-reference struct copies with one retain instead of a call into a value witness.
    private let storage: SharedBytes
    private let start: Int32
    private let count: Int32

    init(_ name: String) {
        storage = SharedBytes(Array(name.utf8))
        start = 0
        count = Int32(storage.bytes.count)
    }

    /// `bytes[start..<start + count]`, which the caller has checked is inside `bytes`.
    init(slice bytes: SharedBytes, start: Int, count: Int) {
        storage = bytes
        self.start = Int32(start)
        self.count = Int32(count)
    }

    var string: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }

    func withUTF8<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        storage.bytes.withUnsafeBufferPointer { all in
            body(UnsafeBufferPointer(rebasing: all[Int(start)..<Int(start) + Int(count)]))
        }
    }

    var utf8Count: Int { Int(count) }

    static func == (lhs: StoredFileName, rhs: StoredFileName) -> Bool {
        lhs.withUTF8 { left in rhs.withUTF8 { right in left.elementsEqual(right) } }
    }

    /// Everything before ":", as `MaildirFileName.base`.
    var base: String {
        withUTF8 { name in
            let end = name.firstIndex(of: UInt8(ascii: ":")) ?? name.endIndex
            return String(decoding: UnsafeBufferPointer(rebasing: name[..<end]), as: UTF8.self)
        }
    }

    /// The letters after ":2," (none when the name has no such info part), as `MaildirFileName.info` reads them.
    private func withInfoLetters<T>(_ body: (Slice<UnsafeBufferPointer<UInt8>>) -> T) -> T {
        withUTF8 { name in
            guard let colon = name.firstIndex(of: UInt8(ascii: ":")), colon + 2 < name.endIndex,
                name[colon + 1] == UInt8(ascii: "2"), name[colon + 2] == UInt8(ascii: ",")
            else { return body(name[name.endIndex...]) }
            return body(name[(colon + 3)...])
        }
    }

    /// Keyword letters (a-z) among the info letters: the flags depend on the keyword table.
    var hasKeywordLetters: Bool {
        withInfoLetters { letters in letters.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") } }
    }

    /// The message's flags; keyword letters are indexes into dovecot-keywords.
    func flags(keywords: KeywordTable) -> MessageFlags {
        var result = MessageFlags()
        withInfoLetters { letters in
            for letter in letters {
                switch letter {
                case UInt8(ascii: "D"): result.system.insert(.draft)
                case UInt8(ascii: "F"): result.system.insert(.flagged)
                case UInt8(ascii: "R"): result.system.insert(.answered)
                case UInt8(ascii: "S"): result.system.insert(.seen)
                case UInt8(ascii: "T"): result.system.insert(.deleted)
                case UInt8(ascii: "a")...UInt8(ascii: "z"):
                    if let keyword = keywords.name(at: Int(letter - UInt8(ascii: "a"))),
                        !result.contains(keyword: keyword)
                    {
                        result.keywords.append(keyword)
                    }
                default: break
                }
            }
        }
        return result
    }
}
