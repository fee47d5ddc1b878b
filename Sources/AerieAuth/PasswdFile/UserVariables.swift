/// Dovecot's user variables in paths and `auth_username_format`: 2.4 `%{user}`, `%{user|username}`,
/// `%{user|domain}` with `|lower`/`|upper` filters, and 2.3 `%u`, `%n`, `%d` with `L`/`U` modifiers.
public enum UserVariables {
    public enum ExpansionError: Error, Sendable, Equatable {
        /// A variable or filter Aerie does not know; the template is a configuration error.
        case unknownVariable(String)
        /// The user name cannot safely become part of a path.
        case unsafeUser
    }

    /// Expands `template` for `user` ("name@domain"; no "@" means an empty domain). `variables` adds names such
    /// as `remote_ip`, `service`, `passdb:FIELD` for field templates.
    public static func expand(_ template: String, user: String, variables: [String: String] = [:])
        throws(ExpansionError) -> String
    {
        var output = ""
        var rest = Substring(template)
        while let percent = rest.firstIndex(of: "%") {
            output += rest[..<percent]
            rest = rest[rest.index(after: percent)...]
            guard let next = rest.first else { throw .unknownVariable("%") }
            if next == "%" {
                output += "%"
                rest = rest.dropFirst()
            } else if next == "{" {
                guard let close = rest.firstIndex(of: "}") else { throw .unknownVariable(String(rest)) }
                let body = rest[rest.index(after: rest.startIndex)..<close]
                output += try braced(String(body), user: user, variables: variables)
                rest = rest[rest.index(after: close)...]
            } else {
                // 2.3 short form: optional L/U modifier, then u/n/d.
                var modifier: Character?
                var letter = next
                if next == "L" || next == "U" {
                    modifier = next
                    rest = rest.dropFirst()
                    guard let after = rest.first else { throw .unknownVariable("%\(next)") }
                    letter = after
                }
                rest = rest.dropFirst()
                let value: String
                switch letter {
                case "u": value = user
                case "n": value = username(user)
                case "d": value = domain(user)
                default: throw .unknownVariable("%\(modifier.map(String.init) ?? "")\(letter)")
                }
                output += modifier == "L" ? value.lowercased() : modifier == "U" ? value.uppercased() : value
            }
        }
        return output + rest
    }

    /// Expands a path template, refusing users that could escape the intended directory.
    public static func expandPath(_ template: String, user: String) throws(ExpansionError) -> String {
        guard template.utf8.contains(UInt8(ascii: "%")) else { return template }
        guard isPathSafe(user), isPathSafe(username(user)) else { throw .unsafeUser }
        if !domain(user).isEmpty, !isPathSafe(domain(user)) { throw .unsafeUser }
        return try expand(template, user: user)
    }

    /// No "/", no leading ".", no NUL or control characters, not empty.
    static func isPathSafe(_ value: String) -> Bool {
        guard !value.isEmpty, !value.hasPrefix("."), !value.contains("/") else { return false }
        return !value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    static func username(_ user: String) -> String {
        guard let at = user.lastIndex(of: "@") else { return user }
        return String(user[..<at])
    }

    static func domain(_ user: String) -> String {
        guard let at = user.lastIndex(of: "@") else { return "" }
        return String(user[user.index(after: at)...])
    }

    private static func braced(_ body: String, user: String, variables: [String: String]) throws(ExpansionError)
        -> String
    {
        let parts = body.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: " ")
        }
        var value: String
        switch parts[0] {
        case "user": value = user
        case "username": value = username(user)  // 2.3 long name
        case "domain": value = domain(user)
        default:
            if let known = variables[parts[0]] {
                value = known
            } else if parts[0].hasPrefix("passdb:") || parts[0].hasPrefix("userdb:") {
                value = ""  // a field the database did not return, as in Dovecot
            } else {
                throw .unknownVariable("%{\(body)}")
            }
        }
        for filter in parts.dropFirst() {
            switch filter {
            case "username": value = username(value)
            case "domain": value = domain(value)
            case "lower": value = value.lowercased()
            case "upper": value = value.uppercased()
            default: throw .unknownVariable("%{\(body)}")
            }
        }
        return value
    }
}

extension StringProtocol {
    /// Trims only the given character from both ends (avoids Foundation).
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return String(slice)
    }
}
