/// One search result: its DN and attribute values (names lowercased: LDAP attribute names are case-insensitive).
public struct LDAPEntry: Sendable, Equatable {
    public var dn: String
    public var attributes: [String: [String]]

    public init(dn: String, attributes: [String: [String]] = [:]) {
        self.dn = dn
        self.attributes = [:]
        for (name, values) in attributes { self.attributes[name.lowercased(), default: []] += values }
    }

    /// The first value of `name` (`dn` is the entry's DN); nil when absent or empty.
    public func first(_ name: String) -> String? {
        let key = name.lowercased()
        if key == "dn" { return dn }
        guard let value = attributes[key]?.first, !value.isEmpty else { return nil }
        return value
    }
}

/// `fields { name = template }`: which attributes to ask for, and the fields an entry yields.
public struct LDAPFieldMapping: Sendable, Equatable {
    /// (field name, template) in a stable order.
    public var fields: [(name: String, template: String)]

    public init(_ fields: [String: String]) {
        self.fields = fields.sorted { $0.key < $1.key }.map { (name: $0.key, template: $0.value) }
    }

    public static func == (lhs: LDAPFieldMapping, rhs: LDAPFieldMapping) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.template == $1.template }
    }

    /// Every attribute the templates read (`dn` is not an attribute and is left out).
    public var attributeNames: [String] {
        var names: [String] = []
        for field in fields {
            for name in LDAPTemplate.attributeNames(field.template) where name != "dn" && !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }

    /// The fields of `entry` for `user`; a field whose attribute is missing is left out and named in `missing`.
    public func map(_ entry: LDAPEntry, user: String) -> (fields: [String: String], missing: [String]) {
        var out: [String: String] = [:]
        var missing: [String] = []
        for field in fields {
            do {
                out[field.name] = try LDAPTemplate.expand(field.template, user: user, attributes: entry)
            } catch {
                missing.append(field.name)
            }
        }
        return (out, missing)
    }
}

/// Active Directory specifics.
public enum ActiveDirectory {
    /// `userAccountControl` bit ACCOUNTDISABLE.
    public static let accountDisable: Int64 = 0x2

    /// Whether a `userAccountControl` value (decimal, as AD returns it; may be negative as a signed 32-bit
    /// number) marks the account disabled. An unparsable value counts as disabled: fail closed.
    public static func isDisabled(userAccountControl value: String) -> Bool {
        guard let flags = Int64(value) else { return true }
        return flags & accountDisable != 0
    }
}
