/// A value as written on the right of `=`, before typing.
struct RawValue: Sendable, Equatable {
    var text: String
    /// Written in quotes: never treated as `<file` or `$reference`.
    var quoted: Bool = false
    /// Written as `<path` (unquoted): the value is the contents of that file, or a path for 2.3 `<cert` style settings.
    var filePath: String? = nil
}

/// One logical line of a configuration file after comment stripping and continuation joining.
struct LexedLine: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case assign(key: String, value: RawValue)
        case open(kind: String, name: String?)
        case close
        case include(path: String, optional: Bool)
    }
    var kind: Kind
    var line: Int
    /// Text of a trailing `# comment`, kept because some audit hints depend on what the author claimed.
    var comment: String?
}

/// Splits configuration text into logical lines, Dovecot style: one statement per line, `#` starts a comment
/// outside quotes, a trailing backslash continues the value on the next line.
enum Lexer {
    struct Failure: Error, Equatable { var line: Int; var message: String }

    static func isKeyChar(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." || c == "/" || c == "@" || c == "+")
    }

    /// Lexes the whole text; failures are collected per line so one bad line does not hide the rest.
    static func lex(_ text: String) -> (lines: [LexedLine], failures: [Failure]) {
        var out: [LexedLine] = []
        var failures: [Failure] = []
        var pending = ""
        var pendingStart = 0
        var lineNo = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            var physical = String(rawLine)
            if physical.hasSuffix("\r") { physical.removeLast() }
            let (body, comment) = stripComment(physical)
            let trimmed = body.trimmingSpaces()
            if !pending.isEmpty || trimmed.hasSuffix("\\") {
                // Continuation: whitespace around the join collapses to one space, as Dovecot documents.
                if pending.isEmpty { pendingStart = lineNo }
                if trimmed.hasSuffix("\\") {
                    pending += (pending.isEmpty ? "" : " ") + String(trimmed.dropLast()).trimmingSpaces()
                    continue
                }
                pending += " " + trimmed
                let joined = pending
                pending = ""
                lexOne(joined, line: pendingStart, comment: comment, into: &out, failures: &failures)
                continue
            }
            if trimmed.isEmpty { continue }
            lexOne(trimmed, line: lineNo, comment: comment, into: &out, failures: &failures)
        }
        if !pending.isEmpty { lexOne(pending, line: pendingStart, comment: nil, into: &out, failures: &failures) }
        return (out, failures)
    }

    /// Removes a `#` comment that is outside quotes; returns the code part and the comment text.
    static func stripComment(_ s: String) -> (String, String?) {
        var quote: Character? = nil
        var escaped = false
        var idx = s.startIndex
        while idx < s.endIndex {
            let c = s[idx]
            if let q = quote {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "#" {
                return (String(s[..<idx]), String(s[s.index(after: idx)...]).trimmingSpaces())
            }
            idx = s.index(after: idx)
        }
        return (s, nil)
    }

    private static func lexOne(_ s: String, line: Int, comment: String?, into out: inout [LexedLine], failures: inout [Failure]) {
        if s == "}" { out.append(LexedLine(kind: .close, line: line, comment: comment)); return }
        if s.hasPrefix("}") {
            failures.append(Failure(line: line, message: "Garbage after '}'; put the next statement on its own line"))
            return
        }
        if s.hasPrefix("!") {
            let parts = s.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            let directive = String(parts[0])
            guard directive == "!include" || directive == "!include_try" else {
                failures.append(Failure(line: line, message: "Unknown directive \(directive) (expected !include or !include_try)"))
                return
            }
            let arg = parts.count > 1 ? String(parts[1]).trimmingSpaces() : ""
            guard !arg.isEmpty, let path = try? unquote(arg) else {
                failures.append(Failure(line: line, message: "\(directive) needs a file path"))
                return
            }
            out.append(LexedLine(kind: .include(path: path.text, optional: directive == "!include_try"), line: line, comment: comment))
            return
        }
        let key = String(s.prefix(while: isKeyChar))
        guard !key.isEmpty else {
            failures.append(Failure(line: line, message: "Expecting a setting name, a section or '}', found '\(preview(s))'"))
            return
        }
        let rest = s.dropFirst(key.count).trimmingSpaces()
        if rest.hasPrefix("=") {
            let valueText = String(rest.dropFirst()).trimmingSpaces()
            do {
                out.append(LexedLine(kind: .assign(key: key, value: try unquote(valueText)), line: line, comment: comment))
            } catch {
                failures.append(Failure(line: line, message: error.message))
            }
            return
        }
        if rest.hasSuffix("{") {
            let nameText = String(rest.dropLast()).trimmingSpaces()
            if nameText.isEmpty {
                out.append(LexedLine(kind: .open(kind: key, name: nil), line: line, comment: comment))
                return
            }
            guard let name = try? unquote(nameText), !name.text.isEmpty, name.quoted || !name.text.contains(where: { $0 == " " || $0 == "\t" }) else {
                failures.append(Failure(line: line, message: "Invalid section name '\(preview(nameText))' for '\(key) {'"))
                return
            }
            out.append(LexedLine(kind: .open(kind: key, name: name.text), line: line, comment: comment))
            return
        }
        if rest.contains("{") {
            failures.append(Failure(line: line, message: "Settings after '{' on the same line are not supported; put each setting on its own line"))
            return
        }
        failures.append(Failure(line: line, message: "Expecting '=' after '\(key)'"))
    }

    struct UnquoteError: Error { var message: String }

    /// Interprets a value: "..." / '...' with backslash escapes, unquoted `<path`, or plain text.
    static func unquote(_ v: String) throws(UnquoteError) -> RawValue {
        guard let first = v.first, first == "\"" || first == "'" else {
            if v.hasPrefix("<") && !v.hasPrefix("<<") {
                return RawValue(text: v, quoted: false, filePath: String(v.dropFirst()).trimmingSpaces())
            }
            if v.hasPrefix("<<") { throw UnquoteError(message: "Heredoc values (<<MARKER) are not supported; use a <file or a quoted string") }
            return RawValue(text: v)
        }
        var out = ""
        var escaped = false
        var idx = v.index(after: v.startIndex)
        while idx < v.endIndex {
            let c = v[idx]
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == first {
                let tail = v[v.index(after: idx)...].trimmingSpaces()
                guard tail.isEmpty else { throw UnquoteError(message: "Unexpected text after closing quote: '\(preview(tail))'") }
                return RawValue(text: out, quoted: true)
            } else {
                out.append(c)
            }
            idx = v.index(after: idx)
        }
        throw UnquoteError(message: "Missing closing quote (\(first))")
    }

    /// Shortens echoed input so diagnostics stay one readable line.
    static func preview(_ s: String) -> String {
        let clean = String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
        return clean.count > 40 ? String(clean.prefix(40)) + "..." : clean
    }
}
