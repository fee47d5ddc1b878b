import Foundation
import AerieMIME

/// Loads Tests/Fixtures/mime: NAME.eml plus NAME.expected captured from Dovecot 2.3.19 by capture.py.
enum Fixtures {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/mime")
    }

    static var names: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".eml") }.map { String($0.dropLast(4)) }.sorted()
    }

    static func message(_ name: String) -> [UInt8] {
        Array((try? Data(contentsOf: directory.appendingPathComponent(name + ".eml"))) ?? Data())
    }

    /// item → raw value bytes as Dovecot sent them.
    static func expected(_ name: String) -> [(item: String, value: [UInt8])] {
        let d = Array((try? Data(contentsOf: directory.appendingPathComponent(name + ".expected"))) ?? Data())
        var out = [(String, [UInt8])]()
        var i = 0
        func line() -> [UInt8] {
            let start = i
            while i < d.count, d[i] != 10 { i += 1 }
            defer { i += 1 }
            return Array(d[start..<i])
        }
        while i < d.count {
            let item = String(decoding: line(), as: UTF8.self)
            guard let n = Int(String(decoding: line(), as: UTF8.self)), i + n <= d.count else { break }
            out.append((item, Array(d[i..<i + n])))
            i += n + 1
        }
        return out
    }

    /// Literal "{n}\r\n<bytes>" / "~{n}\r\n…" or quoted string contents; nil for NIL.
    static func unwrapString(_ v: [UInt8]) -> [UInt8]? {
        if v == Array("NIL".utf8) { return nil }
        var s = v[...]
        if s.first == UInt8(ascii: "~") { s = s.dropFirst() }
        if s.first == UInt8(ascii: "{"), let close = s.firstIndex(of: UInt8(ascii: "}")) {
            return Array(s[(close + 3)...])
        }
        if s.first == UInt8(ascii: "\""), s.count >= 2 { return Array(s.dropFirst().dropLast()) }
        return Array(s)
    }

    /// Maps a FETCH item like BODY.PEEK[2.1.MIME] to a BodySection (nil when it is not a section item).
    static func section(_ item: String) -> BodySection? {
        guard item.hasPrefix("BODY.PEEK["), item.hasSuffix("]") else { return nil }
        let spec = String(item.dropFirst("BODY.PEEK[".count).dropLast())
        var part = [Int]()
        var rest = Substring(spec)
        while let dot = rest.firstIndex(of: ".") ?? (rest.isEmpty ? nil : rest.endIndex), let n = Int(rest[..<dot]) {
            part.append(n)
            rest = dot == rest.endIndex ? "" : rest[rest.index(after: dot)...]
        }
        if rest.isEmpty { return BodySection(part: part) }
        func names(_ s: Substring) -> [String] {
            s.drop { $0 != "(" }.dropFirst().prefix { $0 != ")" }.split(separator: " ").map(String.init)
        }
        if rest == "HEADER" { return BodySection(part: part, text: .header) }
        if rest == "TEXT" { return BodySection(part: part, text: .text) }
        if rest == "MIME" { return BodySection(part: part, text: .mime) }
        if rest.hasPrefix("HEADER.FIELDS.NOT") { return BodySection(part: part, text: .headerFieldsNot(names(rest))) }
        if rest.hasPrefix("HEADER.FIELDS") { return BodySection(part: part, text: .headerFields(names(rest))) }
        return nil
    }
}
