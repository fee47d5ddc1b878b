/// Maildir file names as Dovecot writes them: `<sec>.M<usec>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>`.
import Glibc

struct MaildirFileName: Equatable {
    /// Everything before ":2," — the key dovecot-uidlist stores and the part that never changes.
    var base: String
    /// Letters after ":2,", sorted; nil when the name has no info part (a fresh file in new/).
    var info: String?

    init(base: String, info: String?) {
        self.base = base
        self.info = info
    }

    init(_ name: String) {
        if let colon = name.firstIndex(of: ":") {
            base = String(name[..<colon])
            let rest = name[name.index(after: colon)...]
            info = rest.hasPrefix("2,") ? String(rest.dropFirst(2)) : ""
        } else {
            base = name
            info = nil
        }
    }

    var name: String { info.map { "\(base):2,\($0)" } ?? base }

    /// The value of `,S=` (type "S") or `,W=` (type "W") in the base name, as Dovecot's maildir_filename_get_size reads it.
    static func sizeField(_ base: String, _ type: Character) -> Int? {
        let marker = Array(",\(type)=".utf8)
        let bytes = Array(base.utf8)
        guard bytes.count >= marker.count,
            let start = (0...(bytes.count - marker.count)).first(where: { bytes[$0..<$0 + marker.count].elementsEqual(marker) })
        else { return nil }
        var value = 0
        var digits = 0
        for byte in bytes[(start + marker.count)...] {
            guard byte >= 0x30 && byte <= 0x39 else {
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: ":") { break }
                return nil
            }
            value = value * 10 + Int(byte - 0x30)
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    var size: Int? { Self.sizeField(base, "S") }
    var virtualSize: Int? { Self.sizeField(base, "W") }

    /// The info letters for `flags`, keeping letters Aerie does not interpret (P passed, unknown ones) from `old`.
    static func infoLetters(for flags: MessageFlags, keywordIndexes: [Int], preserving old: String?) -> String {
        var letters = Set<Character>()
        for ch in old ?? "" where ch.isUppercase && !"DFRST".contains(ch) { letters.insert(ch) }
        if flags.system.contains(.draft) { letters.insert("D") }
        if flags.system.contains(.flagged) { letters.insert("F") }
        if flags.system.contains(.answered) { letters.insert("R") }
        if flags.system.contains(.seen) { letters.insert("S") }
        if flags.system.contains(.deleted) { letters.insert("T") }
        for index in keywordIndexes where index < 26 {
            letters.insert(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(index))))
        }
        return String(letters.sorted())
    }

    /// A new unique base name; (sec, usec) never repeats inside this process, as in Dovecot's maildir_filename_generate.
    static func generateBase(size: Int, virtualSize: Int) -> String {
        let (sec, usec) = UniqueClock.next()
        return "\(sec).M\(usec)P\(getpid()).\(FS.hostName),S=\(size),W=\(virtualSize)"
    }
}

/// Strictly increasing (seconds, microseconds) pairs for file names.
enum UniqueClock {
    private static let mutex = PosixMutex()
    nonisolated(unsafe) private static var last: (Int64, Int64) = (0, 0)

    static func next() -> (Int64, Int64) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var now = (Int64(tv.tv_sec), Int64(tv.tv_usec))
        return mutex.run {
            if now.0 < last.0 || (now.0 == last.0 && now.1 <= last.1) {
                now = last
                now.1 += 1
                if now.1 == 1_000_000 { now = (now.0 + 1, 0) }
            }
            last = now
            return now
        }
    }
}

/// RFC822.SIZE: each bare LF counts as CRLF. Streamed so APPEND never needs the whole message in memory.
struct VirtualSizeCounter {
    private(set) var size = 0
    private(set) var virtualSize = 0
    private var previous: UInt8 = 0

    mutating func add(_ bytes: [UInt8]) {
        size += bytes.count
        virtualSize += bytes.count
        for byte in bytes {
            if byte == 0x0A && previous != 0x0D { virtualSize += 1 }
            previous = byte
        }
    }
}
