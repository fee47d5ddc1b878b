/// Dovecot's variables in LDAP settings: `%{user}`, `%{user | username}`, `%{user | domain}`, `%{username}`,
/// `%{domain}` with `| lower` / `| upper`, the 2.3 forms `%u`, `%n`, `%d`, `%%`, and in `fields { }` values
/// `%{ldap:ATTRIBUTE}` (the entry's first value of that attribute).
public enum LDAPTemplate {
    public enum ExpansionError: Error, Sendable, Equatable {
        /// A variable or filter Aerie does not know: the template is a configuration error.
        case unknownVariable(String)
        /// `%{ldap:NAME}` where the entry has no such attribute (the field is then left out, as Dovecot does).
        case missingAttribute(String)
    }

    /// Expands `template` for `user` ("name@domain"). Values from the user name pass through `escape` (use
    /// `LDAPEscaping.filterValue` for filters, `dnValue` for DNs); attribute values are not escaped.
    public static func expand(
        _ template: String, user: String, attributes: LDAPEntry? = nil, escape: (String) -> String = { $0 }
    ) throws(ExpansionError) -> String {
        var output = ""
        var rest = Substring(template)
        while let percent = rest.firstIndex(of: "%") {
            output += rest[..<percent]
            rest = rest[rest.index(after: percent)...]
            guard let next = rest.first else { throw .unknownVariable("%") }
            switch next {
            case "%":
                output += "%"
                rest = rest.dropFirst()
            case "{":
                guard let close = rest.firstIndex(of: "}") else { throw .unknownVariable(String(rest)) }
                let body = String(rest[rest.index(after: rest.startIndex)..<close])
                output += try braced(body, user: user, entry: attributes, escape: escape)
                rest = rest[rest.index(after: close)...]
            case "u", "n", "d":
                let value = next == "u" ? user : next == "n" ? username(user) : domain(user)
                output += escape(value)
                rest = rest.dropFirst()
            default:
                throw .unknownVariable("%\(next)")
            }
        }
        return output + rest
    }

    /// The attribute names a template reads through `%{ldap:NAME}`, in order, lowercased.
    public static func attributeNames(_ template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let percent = rest.firstIndex(of: "%") {
            rest = rest[rest.index(after: percent)...]
            guard rest.first == "{" else {
                rest = rest.dropFirst()  // %% or a short variable
                continue
            }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "}") else { break }
            let variable = rest[..<close].split(separator: "|")[0].trimmed
            if variable.hasPrefix("ldap:") {
                let name = variable.dropFirst("ldap:".count).lowercased()
                if !name.isEmpty, !names.contains(name) { names.append(name) }
            }
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// Throws for unknown variables or filters (at start, so a typo is not found at the first login).
    public static func validate(_ template: String, allowAttributes: Bool) throws(ExpansionError) {
        var probe = LDAPEntry(dn: "cn=probe")
        for name in attributeNames(template) { probe.attributes[name] = ["probe"] }
        if !allowAttributes, !attributeNames(template).isEmpty {
            throw .unknownVariable("%{ldap:\(attributeNames(template)[0])}")
        }
        _ = try expand(template, user: "probe@example.com", attributes: probe)
    }

    static func username(_ user: String) -> String {
        guard let at = user.lastIndex(of: "@") else { return user }
        return String(user[..<at])
    }

    static func domain(_ user: String) -> String {
        guard let at = user.lastIndex(of: "@") else { return "" }
        return String(user[user.index(after: at)...])
    }

    private static func braced(_ body: String, user: String, entry: LDAPEntry?, escape: (String) -> String)
        throws(ExpansionError) -> String
    {
        let parts = body.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmed }
        var value: String
        var fromUser = true
        switch parts[0] {
        case "user": value = user
        case "username": value = username(user)
        case "domain": value = domain(user)
        case let name where name.hasPrefix("ldap:") && entry != nil:
            let attribute = String(name.dropFirst("ldap:".count))
            guard let found = entry?.first(attribute) else { throw .missingAttribute(attribute.lowercased()) }
            value = found
            fromUser = false
        default: throw .unknownVariable("%{\(body)}")
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
        return fromUser ? escape(value) : value
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces (avoids Foundation).
    fileprivate var trimmed: String {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
