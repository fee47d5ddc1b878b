/// `service aerie-admin { inet_listener NAME { address port } }`: `aerie adm` over TCP with mutual TLS (issue 13
/// item 6). The client's certificate is required, must chain to `admin_ssl_ca_file` (with its CRLs), and its
/// subject must be one of `admin_allowed_subjects`.
public enum AdminListener {
    public static let service = "aerie-admin"

    /// Why the listener cannot be opened as configured; nil when it can.
    static func problem(_ s: AerieSettings, _ listener: InetListenerSettings) -> String? {
        if s.string(forKey: "admin_ssl_ca_file")?.isEmpty ?? true {
            return "admin_ssl_ca_file is not set: a client certificate is required and must chain to that CA "
                + "(the admins' CA and its CRLs, PEM)"
        }
        if allowedSubjects(s).isEmpty {
            return "admin_allowed_subjects is empty: list the certificate subjects that may administer "
                + "(e.g. admin_allowed_subjects = CN=ops1,O=Example; CN=ops2,O=Example)"
        }
        if s.ssl == .no { return "the admin listener always uses TLS: it needs ssl = yes or required" }
        if listener.haproxy { return "haproxy = yes is not supported here" }
        return nil
    }

    /// `admin_allowed_subjects`: distinguished names (RFC 4514 strings) separated by `;`, normalized.
    public static func allowedSubjects(_ s: AerieSettings) -> [String] {
        (s.string(forKey: "admin_allowed_subjects") ?? "").split(separator: ";").map { normalize(String($0)) }
            .filter { !$0.isEmpty }
    }

    /// `cn = ops1, O=Example` → `CN=ops1,O=Example`: attribute types upper-cased, spaces around separators dropped.
    /// (Escaped commas inside a value are not supported: such a subject cannot be listed.)
    public static func normalize(_ dn: String) -> String {
        dn.split(separator: ",").map { part -> String in
            let pieces = part.split(separator: "=", maxSplits: 1)
            func trim(_ text: Substring) -> String {
                String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
            }
            guard pieces.count == 2 else { return trim(part) }
            return trim(pieces[0]).uppercased() + "=" + trim(pieces[1])
        }.filter { !$0.isEmpty }.joined(separator: ",")
    }
}
