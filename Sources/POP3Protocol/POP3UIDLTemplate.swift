/// The message variables of `pop3_uidl_format` (Dovecot src/pop3/pop3-commands.c `pop3_get_uid`).
enum Variable: Sendable {
    case uidValidity, uid, md5, fileName, guid

    /// 2.3 one-letter keys.
    init?(key: UInt8) {
        switch key {
        case UInt8(ascii: "v"): self = .uidValidity
        case UInt8(ascii: "u"): self = .uid
        case UInt8(ascii: "m"): self = .md5
        case UInt8(ascii: "f"): self = .fileName
        case UInt8(ascii: "g"): self = .guid
        default: return nil
        }
    }

    /// 2.4 names (the 2.3 long names are the same words).
    init?(name: String) {
        switch name {
        case "uidvalidity": self = .uidValidity
        case "uid": self = .uid
        case "md5": self = .md5
        case "filename": self = .fileName
        case "guid": self = .guid
        default: return nil
        }
    }
}

/// One transformation of a value, applied in order.
enum Filter: Sendable, Equatable {
    /// 2.3 `X` / 2.4 `hex(width)`: decimal in, lower-case hex out (not a number: 0, as 2.3's `str_to_ullong` fallback).
    case hex(width: Int)
    case upper
    case lower
    /// 2.3 `R`.
    case reverse
}

/// A `%` expansion: a variable, its filters, then 2.3's offset / width / zero padding.
struct Expansion: Sendable {
    var variable: Variable
    var filters: [Filter] = []
    var offset = 0
    var width = 0
    var zeroPadding = false

    func expand(_ values: POP3UIDL.Values) -> String {
        var value = Array(values.value(variable).utf8)
        for filter in filters { value = Self.apply(filter, to: value) }
        // Dovecot 2.3 src/lib/var-expand.c: offset (negative counts from the end), then width.
        if offset < 0 {
            if value.count > -offset { value.removeFirst(value.count + offset) }
        } else {
            value.removeFirst(min(offset, value.count))
        }
        if width != 0 {
            if zeroPadding {
                if value.count < width { value.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - value.count), at: 0) }
            } else {
                let keep = width < 0 ? value.count + width : width
                value = Array(value.prefix(max(0, keep)))
            }
        }
        return String(decoding: value, as: UTF8.self)
    }

    static func apply(_ filter: Filter, to value: [UInt8]) -> [UInt8] {
        switch filter {
        case .upper: return value.map(\.asciiUppercased)
        case .lower: return value.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
        case .reverse: return value.reversed()
        case .hex(let width):
            let number = UInt64(String(decoding: value, as: UTF8.self)) ?? 0
            var hex = Array(String(number, radix: 16).utf8)
            // Dovecot 2.4 src/lib-var-expand/expansion-filter.c fn_hex.
            if width > 0 {
                if hex.count < width { hex.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - hex.count), at: 0) }
                hex = Array(hex.suffix(width))
            } else if width < 0 {
                if hex.count < -width { hex.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -width - hex.count)) }
                hex = Array(hex.prefix(-width))
            }
            return hex
        }
    }
}

/// Splits a template into literal text and expansions.
struct TemplateParser {
    enum Piece {
        case literal(ArraySlice<UInt8>)
        case expansion(Expansion)
        case invalid(String)
    }

    /// Widths above this are configuration mistakes; capping keeps a hostile template from allocating much.
    static let maximumWidth = 255

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func nextPiece() -> Piece? {
        guard index < bytes.count else { return nil }
        guard bytes[index] == UInt8(ascii: "%") else {
            let end = bytes[index...].firstIndex(of: UInt8(ascii: "%")) ?? bytes.count
            defer { index = end }
            return .literal(bytes[index..<end])
        }
        index += 1
        return parseExpansion()
    }

    /// 2.3 `%[-][0][width][.[0][-]width][modifiers](key | "{" long "}")`, after the `%`.
    private mutating func parseExpansion() -> Piece {
        var expansion = Expansion(variable: .uid)
        var sign = 1
        if peek == UInt8(ascii: "-") { sign = -1; index += 1 }
        if peek == UInt8(ascii: "0") { expansion.zeroPadding = true; index += 1 }
        expansion.width = number()
        if peek == UInt8(ascii: ".") {
            index += 1
            expansion.offset = sign * expansion.width
            expansion.zeroPadding = false
            if peek == UInt8(ascii: "0") { expansion.zeroPadding = true; index += 1 }
            var widthSign = 1
            if peek == UInt8(ascii: "-") { widthSign = -1; index += 1 }
            expansion.width = widthSign * number()
        }
        var modifiers: [Filter] = []
        while let byte = peek, let modifier = Self.modifier(byte) {
            modifiers.append(modifier)
            index += 1
        }
        guard let key = peek else { return .invalid("Template ends inside a variable") }
        index += 1
        if key == UInt8(ascii: "%") { return .literal([UInt8(ascii: "%")][...]) }
        if key == UInt8(ascii: "{") {
            guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "}")) else { return .invalid("Missing }") }
            let body = String(decoding: bytes[index..<close], as: UTF8.self)
            index = close + 1
            switch Self.parsePipeline(body) {
            case .success(let (variable, filters)):
                expansion.variable = variable
                expansion.filters = filters + modifiers
            case .failure(let error):
                return .invalid(error.message)
            }
        } else {
            guard let variable = Variable(key: key) else {
                return .invalid("Unknown variable %\(String(decoding: [key], as: UTF8.self))")
            }
            expansion.variable = variable
            expansion.filters = modifiers
        }
        return .expansion(expansion)
    }

    /// 2.4 `name ( "|" filter )*`, filters `hex`, `hex(n)`, `upper`, `lower`.
    static func parsePipeline(_ body: String) -> Result<(Variable, [Filter]), POP3UIDLTemplateError> {
        let parts = body.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        guard let variable = Variable(name: parts[0]) else {
            return .failure(POP3UIDLTemplateError(message: "Unknown variable \(parts[0])"))
        }
        var filters: [Filter] = []
        for part in parts.dropFirst() {
            switch part {
            case "hex": filters.append(.hex(width: 0))
            case "upper": filters.append(.upper)
            case "lower": filters.append(.lower)
            default:
                guard part.hasPrefix("hex("), part.hasSuffix(")"),
                    let width = Int(part.dropFirst(4).dropLast().trimmingSpaces), abs(width) <= maximumWidth
                else { return .failure(POP3UIDLTemplateError(message: "Unknown filter \(part)")) }
                filters.append(.hex(width: width))
            }
        }
        return .success((variable, filters))
    }

    private static func modifier(_ byte: UInt8) -> Filter? {
        switch byte {
        case UInt8(ascii: "X"): .hex(width: 0)
        case UInt8(ascii: "U"): .upper
        case UInt8(ascii: "L"): .lower
        case UInt8(ascii: "R"): .reverse
        default: nil
        }
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Decimal digits, capped at `maximumWidth`.
    private mutating func number() -> Int {
        var value = 0
        while let byte = peek, byte.isDigit {
            value = min(Self.maximumWidth, value * 10 + Int(byte - 0x30))
            index += 1
        }
        return value
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
