/// Dovecot's `pop3_uidl_format` (RFC 1939 §7 unique-id listings), so clients moving from Dovecot keep their UIDLs.
///
/// Two syntaxes, as Dovecot 2.3 and 2.4 write them:
/// - 2.3: `%[-][0][width][.[0][-]width][modifiers]key` with keys `v` (UIDVALIDITY), `u` (UID), `m` (header MD5),
///   `f` (file name), `g` (GUID), modifiers `X` (decimal to lower-case hex), `L`, `U`, `R` (reverse), `%%` for `%`.
/// - 2.4: `%{name | filter | …}` with names `uidvalidity`, `uid`, `md5`, `filename`, `guid` and filters
///   `hex`, `hex(n)` (n > 0: zero-padded, keep the last n; n < 0: right-padded, keep the first -n), `upper`, `lower`.
public enum POP3UIDL {
    /// Dovecot's default in 2.0–2.3 (verified against Dovecot 2.3.19: UID first, then UIDVALIDITY, lower-case hex).
    public static let dovecotDefaultFormat = "%08Xu%08Xv"
    /// The same default in Dovecot 2.4 syntax.
    public static let dovecot24DefaultFormat = "%{uid | hex(8)}%{uidvalidity | hex(8)}"

    /// RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
    public static let maximumLength = 70

    /// Expands `template` for one message. Unknown variables and filters expand to nothing
    /// (`validateTemplate` reports them at configuration time); nil values expand to nothing.
    public static func format(
        _ template: String, uidValidity: UInt32, uid: UInt32, guid: String?, md5: String?, fileName: String?
    ) -> String {
        let values = Values(uidValidity: uidValidity, uid: uid, guid: guid, md5: md5, fileName: fileName)
        var parser = TemplateParser(Array(template.utf8))
        var out: [UInt8] = []
        while let piece = parser.nextPiece() {
            switch piece {
            case .literal(let bytes): out.append(contentsOf: bytes)
            case .expansion(let expansion): out.append(contentsOf: expansion.expand(values).utf8)
            case .invalid: break
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 1939 §7: true if `uidl` may be sent as a unique-id.
    public static func isValid(_ uidl: String) -> Bool {
        (1...maximumLength).contains(uidl.utf8.count) && uidl.utf8.allSatisfy(\.isVisibleASCII)
    }

    /// Checks a template at configuration time; the error names the first problem.
    public static func validateTemplate(_ template: String) throws(POP3UIDLTemplateError) {
        var parser = TemplateParser(Array(template.utf8))
        var usesVariable = false
        while let piece = parser.nextPiece() {
            switch piece {
            case .literal: break
            case .expansion: usesVariable = true
            case .invalid(let reason): throw POP3UIDLTemplateError(message: reason)
            }
        }
        // Without a variable every message would get the same UIDL.
        guard usesVariable else { throw POP3UIDLTemplateError(message: "Template uses no message variable") }
    }

    /// The variables, as decimal or text strings like Dovecot's expansion table.
    struct Values {
        var uidValidity: UInt32
        var uid: UInt32
        var guid: String?
        var md5: String?
        var fileName: String?

        func value(_ variable: Variable) -> String {
            switch variable {
            case .uidValidity: String(uidValidity)
            case .uid: String(uid)
            case .md5: md5 ?? ""
            case .fileName: fileName ?? ""
            case .guid: guid ?? ""
            }
        }
    }
}

/// A `pop3_uidl_format` that cannot be used; `message` is for the configuration error.
public struct POP3UIDLTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "Invalid pop3_uidl_format: \(message)" }
}
