internal import CLDAP

#if canImport(Glibc)
    internal import Glibc
#endif

/// One libldap handle. Every call blocks: use it from a pool thread, never an event loop, and from one thread at a
/// time (`LDAPClient` hands it out).
public final class LDAPConnection {
    private var handle: OpaquePointer?
    let settings: LDAPConnectionSettings
    /// Who the handle is bound as; a bind on a search connection is redone before the next search.
    private(set) var boundDN: String?

    /// Sets up the handle (no I/O yet: libldap connects at the first operation, trying each URI in turn).
    public init(settings: LDAPConnectionSettings) throws(LDAPError) {
        self.settings = settings
        var ld: OpaquePointer?
        let uriList = settings.uris.joined(separator: " ")
        let rc = ldap_initialize(&ld, uriList)
        guard rc == LDAP_SUCCESS, let ld else {
            throw LDAPError(code: rc, message: "ldap_initialize(\(uriList)) failed: \(Self.text(rc))")
        }
        handle = ld
        var version: Int32 = 3
        try check(ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version), "protocol version")
        var network = Self.timeval(settings.networkTimeout)
        try check(ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &network), "network timeout")
        var operation = Self.timeval(settings.operationTimeout)
        try check(ldap_set_option(ld, LDAP_OPT_TIMEOUT, &operation), "timeout")
        var deref: Int32 =
            switch settings.deref {
            case .never: 0
            case .searching: 1
            case .finding: 2
            case .always: 3
            }
        try check(ldap_set_option(ld, LDAP_OPT_DEREF, &deref), "deref")
        // Referrals would send the bind credentials to another server.
        try check(cldap_set_referrals_off(ld), "referrals")
        try check(cldap_set_restart_on(ld), "restart")
        if settings.usesTLS {
            // Per handle, then a fresh TLS context so these options apply to this handle only.
            var require: Int32 = settings.requireValidCertificate ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_ALLOW
            try check(ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require), "TLS require cert")
            var minimum: Int32 = (3 << 8) + 3  // LDAP_OPT_X_TLS_PROTOCOL_TLS1_2
            try check(ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &minimum), "TLS minimum protocol")
            if !settings.caFile.isEmpty {
                try check(ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, settings.caFile), "TLS CA file")
            }
            var isServer: Int32 = 0
            try check(ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &isServer), "TLS setup (is the CA file readable?)")
        }
    }

    deinit {
        if let handle { ldap_unbind_ext_s(handle, nil, nil) }
    }

    /// StartTLS when configured (ldaps:// URIs need nothing), then a bind as `ldap_auth_dn` if one is set.
    /// - SeeAlso: RFC 4513 §3 (StartTLS), §5.1.3 (simple bind)
    public func open() throws(LDAPError) {
        let ld = try live()
        if settings.startTLS, !onlyLDAPS {
            try check(ldap_start_tls_s(ld, nil, nil), "StartTLS")
        }
        if !settings.authDN.isEmpty {
            try bind(dn: settings.authDN, password: settings.authPassword)
        }
    }

    /// Rebinds as `ldap_auth_dn` (or anonymously) when the handle is bound as someone else.
    func rebindForSearch() throws(LDAPError) {
        guard boundDN != nil, boundDN != settings.authDN else { return }
        if settings.authDN.isEmpty {
            try bind(dn: "", password: "")
        } else {
            try bind(dn: settings.authDN, password: settings.authPassword)
        }
    }

    /// A simple bind; throws with `isInvalidCredentials` for a wrong password. An empty password is refused
    /// before it reaches the server, where it would be an unauthenticated bind that succeeds.
    /// - SeeAlso: RFC 4513 §5.1.2
    public func bind(dn: String, password: String) throws(LDAPError) {
        let ld = try live()
        if password.isEmpty && !dn.isEmpty {
            throw LDAPError(code: 49, message: "empty password refused (unauthenticated bind)")
        }
        boundDN = nil
        let rc = password.withCString { pointer in
            cldap_simple_bind(ld, dn.isEmpty ? nil : dn, pointer, UInt(strlen(pointer)))
        }
        guard rc == LDAP_SUCCESS else { throw error(rc, "bind") }
        boundDN = dn
    }

    /// Searches `base` with `filter`, asking for `attributes` (empty: none but the DN). At most `sizeLimit`
    /// entries come back; more is an error with `LDAP_SIZELIMIT_EXCEEDED` (4).
    public func search(base: String, filter: String, attributes: [String], sizeLimit: Int32 = 0) throws(LDAPError)
        -> [LDAPEntry]
    {
        let ld = try live()
        let scope: Int32 =
            switch settings.scope {
            case .base: cldap_scope_base()
            case .onelevel: cldap_scope_onelevel()
            case .subtree: cldap_scope_subtree()
            }
        // "1.1" asks for no attributes (RFC 4511 §4.5.1.8).
        let names = attributes.isEmpty ? ["1.1"] : attributes
        var cStrings: [UnsafeMutablePointer<CChar>?] = names.map { strdup($0) } + [nil]
        defer { for pointer in cStrings { free(pointer) } }
        var timeout = Self.timeval(settings.operationTimeout)
        var result: OpaquePointer?
        let rc = cStrings.withUnsafeMutableBufferPointer { buffer in
            ldap_search_ext_s(ld, base, scope, filter, buffer.baseAddress, 0, nil, nil, &timeout, sizeLimit, &result)
        }
        defer { if let result { ldap_msgfree(result) } }
        guard rc == LDAP_SUCCESS else { throw error(rc, "search") }
        var entries: [LDAPEntry] = []
        var message = ldap_first_entry(ld, result)
        while let current = message {
            entries.append(readEntry(ld, current))
            message = ldap_next_entry(ld, current)
        }
        return entries
    }

    private func readEntry(_ ld: OpaquePointer, _ message: OpaquePointer) -> LDAPEntry {
        var dn = ""
        if let pointer = ldap_get_dn(ld, message) {
            dn = String(cString: pointer)
            ldap_memfree(pointer)
        }
        var entry = LDAPEntry(dn: dn)
        var ber: OpaquePointer?
        var attribute = ldap_first_attribute(ld, message, &ber)
        while let name = attribute {
            let key = String(cString: name).lowercased()
            if let values = ldap_get_values_len(ld, message, name) {
                var index = 0
                while let value = values[index] {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    entry.attributes[key, default: []].append(String(decoding: bytes, as: UTF8.self))
                    index += 1
                }
                ldap_value_free_len(values)
            }
            ldap_memfree(name)
            attribute = ldap_next_attribute(ld, message, ber)
        }
        if let ber { ber_free(ber, 0) }
        return entry
    }

    /// ldaps:// is TLS from the start: StartTLS on it would fail.
    private var onlyLDAPS: Bool {
        !settings.uris.isEmpty && settings.uris.allSatisfy { $0.lowercased().hasPrefix("ldaps://") }
    }

    private func live() throws(LDAPError) -> OpaquePointer {
        guard let handle else { throw LDAPError(code: -1, message: "connection closed") }
        return handle
    }

    private func check(_ rc: Int32, _ what: String) throws(LDAPError) {
        guard rc == LDAP_SUCCESS else { throw error(rc, what) }
    }

    /// The result code with libldap's diagnostic, which names the server's reason (e.g. a TLS failure).
    private func error(_ rc: Int32, _ what: String) -> LDAPError {
        var detail = ""
        if let handle {
            var pointer: UnsafeMutablePointer<CChar>?
            if ldap_get_option(handle, LDAP_OPT_DIAGNOSTIC_MESSAGE, &pointer) == LDAP_SUCCESS, let pointer {
                detail = String(cString: pointer)
                ldap_memfree(pointer)
            }
        }
        let text = Self.text(rc) + (detail.isEmpty ? "" : ": \(detail)")
        return LDAPError(code: rc, message: "\(what) failed: \(text)")
    }

    static func text(_ rc: Int32) -> String {
        guard let pointer = ldap_err2string(rc) else { return "error \(rc)" }
        return String(cString: pointer)
    }

    static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
