import Glibc
public import NIOCore

/// Builds one `* N FETCH (…)` response (RFC 9051 §7.5.2), item by item; message data goes out as literals.
///
/// `var b = FetchResponseBuilder(sequenceNumber: 5); b.uid(9); b.flags([.seen]); b.literal("BODY[]", data)`
/// then `b.bytes` gives `* 5 FETCH (UID 9 FLAGS (\Seen) BODY[] {N}\r\n…)\r\n`.
public struct FetchResponseBuilder: Sendable {
    private var out: [UInt8]
    private var isFirst = true

    public init(sequenceNumber: UInt32, reservingCapacity: Int = 128) {
        out = []
        out.reserveCapacity(reservingCapacity)
        out.append(contentsOf: "* \(sequenceNumber) FETCH (".utf8)
    }

    /// `NAME value` where value is already in wire form (ENVELOPE, BODYSTRUCTURE, a number, a list).
    public mutating func item(_ name: String, _ value: String) {
        startItem(name)
        out.append(contentsOf: value.utf8)
    }

    /// `NAME value` in wire form as octets: ENVELOPE / BODYSTRUCTURE literals may carry 8-bit header text.
    public mutating func item(_ name: String, bytes value: some Collection<UInt8>) {
        startItem(name)
        out.append(contentsOf: value)
    }

    public mutating func uid(_ uid: UInt32) { item("UID", String(uid)) }
    public mutating func flags(_ flags: [Flag]) { item("FLAGS", Flag.listString(flags)) }
    public mutating func rfc822Size(_ size: Int) { item("RFC822.SIZE", String(size)) }
    /// RFC 7162 §3.1.4.1: `MODSEQ (n)`.
    public mutating func modSeq(_ modSeq: UInt64) { item("MODSEQ", "(\(modSeq))") }
    /// `INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz"`.
    public mutating func internalDate(secondsSince1970: Int64, zoneOffsetMinutes: Int = 0) {
        item("INTERNALDATE", "\"" + IMAPEncoding.dateTime(secondsSince1970: secondsSince1970, zoneOffsetMinutes: zoneOffsetMinutes) + "\"")
    }
    /// RFC 8514 §4: `SAVEDATE "…"` or `SAVEDATE NIL`.
    public mutating func saveDate(secondsSince1970: Int64?) {
        item("SAVEDATE", secondsSince1970.map { "\"" + IMAPEncoding.dateTime(secondsSince1970: $0) + "\"" } ?? "NIL")
    }
    /// RFC 8474 §5: `EMAILID (id)` / `THREADID (id)` or `THREADID NIL`.
    public mutating func objectID(_ name: String, _ id: String?) { item(name, id.map { "(\($0))" } ?? "NIL") }

    /// `NAME {N}\r\n<data>`, e.g. `BODY[]`, `BODY[HEADER]<0>`, `RFC822.TEXT`. NUL octets, which a literal
    /// may not hold (RFC 9051 §4.3: CHAR8), become spaces; BINARY items use `binary(_:_:)` instead.
    public mutating func literal(_ name: String, _ data: some Collection<UInt8>) {
        startItem(name)
        out.append(contentsOf: "{\(data.count)}\r\n".utf8)
        let start = out.count
        out.append(contentsOf: data)
        let hasNUL = out.withUnsafeBufferPointer { memchr($0.baseAddress! + start, 0, $0.count - start) != nil }
        if hasNUL {
            for index in start..<out.count where out[index] == ASCII.nul { out[index] = ASCII.space }
        }
    }

    /// `NAME {count}\r\n` and then the octets `fill` writes straight into the response (no intermediate copy of a
    /// big body). `fill` gets exactly `count` octets of room and returns how many it needed; if that is not `count`
    /// (an estimate that was wrong), the item is written again from `fallback()`. NULs become spaces as in
    /// `literal(_:_:)`.
    public mutating func literal(
        _ name: String, count: Int, fill: (UnsafeMutableBufferPointer<UInt8>) -> Int, fallback: () -> [UInt8]
    ) {
        let itemStart = out.count
        let wasFirst = isFirst
        startItem(name)
        out.append(contentsOf: "{\(count)}\r\n".utf8)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: count))
        let needed = out.withUnsafeMutableBufferPointer { fill(UnsafeMutableBufferPointer(rebasing: $0[start...])) }
        guard needed == count else {
            out.removeSubrange(itemStart...)
            isFirst = wasFirst
            literal(name, fallback())
            return
        }
        let hasNUL = out.withUnsafeBufferPointer { memchr($0.baseAddress! + start, 0, $0.count - start) != nil }
        if hasNUL {
            for index in start..<out.count where out[index] == ASCII.nul { out[index] = ASCII.space }
        }
    }

    /// RFC 3516 §4.2: a literal8 (`~{N}`) when the data holds NUL or `literal8` asks for one (decoded content, as
    /// Dovecot answers), else a plain literal.
    public mutating func binary(_ name: String, _ data: some Collection<UInt8>, literal8: Bool = false) {
        guard literal8 || data.contains(ASCII.nul) else { return literal(name, data) }
        startItem(name)
        out.append(contentsOf: "~{\(data.count)}\r\n".utf8)
        out.append(contentsOf: data)
    }

    /// `NAME NIL` or `NAME "text"` / literal: RFC 9051 §9 `nstring`.
    public mutating func nstring(_ name: String, _ value: String?) { item(name, IMAPString.nstring(value)) }

    /// The response, `)` and CRLF included.
    public var bytes: [UInt8] {
        var done = out
        done.append(contentsOf: ")\r\n".utf8)
        return done
    }

    /// The response, `)` and CRLF included, handed over without a copy; the builder is empty afterwards.
    public mutating func finish() -> [UInt8] {
        out.append(contentsOf: ")\r\n".utf8)
        defer { out = [] }
        return out
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(out)
        buffer.writeStaticString(")\r\n")
    }

    private mutating func startItem(_ name: String) {
        if !isFirst { out.append(ASCII.space) }
        isFirst = false
        out.append(contentsOf: name.utf8.filter { $0 != ASCII.cr && $0 != ASCII.lf && $0 != ASCII.nul })
        out.append(ASCII.space)
    }
}

extension FetchAttribute {
    /// The item's name in a FETCH response: `BODY[1.TEXT]<0>` for `BODY.PEEK[1.TEXT]<0.100>`
    /// (RFC 9051 §7.5.2: no .PEEK, origin only), `RFC822.HEADER`, `BINARY.SIZE[1]`, …
    public var responseName: String {
        switch self {
        case .envelope: "ENVELOPE"
        case .flags: "FLAGS"
        case .internalDate: "INTERNALDATE"
        case .rfc822: "RFC822"
        case .rfc822Header: "RFC822.HEADER"
        case .rfc822Size: "RFC822.SIZE"
        case .rfc822Text: "RFC822.TEXT"
        case .body: "BODY"
        case .bodyStructure: "BODYSTRUCTURE"
        case .uid: "UID"
        case .modSeq: "MODSEQ"
        case .emailID: "EMAILID"
        case .threadID: "THREADID"
        case .saveDate: "SAVEDATE"
        case .bodySection(_, let section, let partial):
            "BODY[" + section.responseText + "]" + (partial.map { "<\($0.offset)>" } ?? "")
        case .binary(_, let part, let partial):
            "BINARY[" + part.map(String.init).joined(separator: ".") + "]" + (partial.map { "<\($0.offset)>" } ?? "")
        case .binarySize(let part):
            "BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]"
        }
    }
}

extension FetchSection {
    /// As `description`, with header field names upper-cased (as Dovecot answers; field names are case-insensitive,
    /// RFC 5322 §1.2.2) and written as astrings.
    var responseText: String {
        switch text {
        case .headerFields(let names), .headerFieldsNot(let names):
            var copy = self
            let encoded = names.map { IMAPEncoding.astring($0.uppercased()) }
            copy.text = if case .headerFields = text { .headerFields(encoded) } else { .headerFieldsNot(encoded) }
            return copy.description
        default:
            return description
        }
    }
}
