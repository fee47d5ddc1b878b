#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Extra fields: templates from `default_fields` / `fields { }`, and the helpers the engine reads them with.
enum AuthFields {
    static func stripUserdbPrefix(_ key: String) -> String {
        key.hasPrefix("userdb_") ? String(key.dropFirst("userdb_".count)) : key
    }

    /// Dovecot's boolean field values.
    static func bool(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "yes", "y", "true", "1", "": true
        case "no", "n", "false", "0": false
        default: nil
        }
    }

    /// Variables a field template may use besides `%{user}`: the login's addresses and service, and the fields
    /// returned so far as `%{passdb:NAME}` / `%{userdb:NAME}`.
    static func variables(
        _ request: AuthLookupRequest, passdb: [String: String], userdb: [String: String] = [:]
    )
        -> [String: String]
    {
        var variables = [
            "remote_ip": request.remoteIP, "local_ip": request.localIP, "service": request.service,
            "protocol": request.service, "session": request.sessionID,
        ]
        for (key, value) in passdb { variables["passdb:\(key)"] = value }
        for (key, value) in userdb { variables["userdb:\(key)"] = value }
        return variables
    }

    /// Applies `defaults` under and `overrides` over `fields`. An override key ending `:default` is set only when
    /// missing, one ending `:remove` removes the field. Values are expanded for `request.user`; one that does not
    /// expand (unknown variable, caught at start) is left out.
    static func apply(
        defaults: [String: String], overrides: [String: String], to fields: [String: String],
        request: AuthLookupRequest, variables: [String: String]
    ) -> [String: String] {
        var result = fields
        func expand(_ template: String) -> String? {
            try? UserVariables.expand(template, user: request.user, variables: variables)
        }
        for key in defaults.keys.sorted() where result[key] == nil {
            if let value = expand(defaults[key]!) { result[key] = value }
        }
        for key in overrides.keys.sorted() {
            let template = overrides[key]!
            if key.hasSuffix(":remove") {
                result.removeValue(forKey: String(key.dropLast(":remove".count)))
            } else if key.hasSuffix(":default") {
                let name = String(key.dropLast(":default".count))
                if result[name] == nil, let value = expand(template) { result[name] = value }
            } else if let value = expand(template) {
                result[key] = value
            }
        }
        return result
    }

    /// A numeric uid, or a user name resolved through the system's user database.
    static func uid(_ text: String) -> UInt32? {
        if let number = UInt32(text) { return number }
        guard !text.isEmpty else { return nil }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return UInt32(entry.pw_uid)
    }

    /// A numeric gid, or a group name resolved through the system's group database.
    static func gid(_ text: String) -> UInt32? {
        if let number = UInt32(text) { return number }
        guard !text.isEmpty else { return nil }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(text, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return UInt32(entry.gr_gid)
    }
}
