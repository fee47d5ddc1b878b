import Testing

@testable import AerieConfig

/// `service aerie-admin { inet_listener }`: `aerie adm` over mutual TLS (issue 13 item 6).
@Suite struct AdminListenerTests {
    static let listener =
        "service aerie-admin {\n  inet_listener admin {\n    address = 192.0.2.1\n    port = 4443\n  }\n}\n"

    @Test func aListenerNeedsTheAdminCAAndSubjects() {
        let noCA = loadErrors(Self.listener + "admin_allowed_subjects = CN=ops1\n")
        #expect(noCA.count == 1 && noCA[0].hasPrefix("/nonexistent/aerie.conf:2:"), "\(noCA)")
        #expect(noCA.first?.contains("admin_ssl_ca_file is not set") == true)
        let noSubjects = loadErrors(Self.listener + "admin_ssl_ca_file = /etc/aerie/admin-ca.pem\n")
        #expect(noSubjects.count == 1 && noSubjects[0].contains("admin_allowed_subjects is empty"), "\(noSubjects)")
        let plain = loadErrors(
            Self.listener + "admin_ssl_ca_file = /x.pem\nadmin_allowed_subjects = CN=a\nssl = no\n")
        #expect(plain.contains { $0.contains("needs ssl = yes or required") }, "\(plain)")
        // Port 0 (or none): no listener, nothing to check.
        #expect(loadOK("service aerie-admin {\n  inet_listener admin {\n    port = 0\n  }\n}\n") != nil)
    }

    @Test func allowedSubjectsAreNormalized() throws {
        let config = try #require(
            loadOK(
                Self.listener + "admin_ssl_ca_file = /etc/aerie/admin-ca.pem\n"
                    + "admin_allowed_subjects = cn = ops1 , O=Example;CN=ops2 ;\n"))
        #expect(AdminListener.allowedSubjects(config.settings) == ["CN=ops1,O=Example", "CN=ops2"])
        #expect(AdminListener.normalize("CN=ops1,O=Example") == "CN=ops1,O=Example")
        #expect(AdminListener.normalize("  ") == "")
    }
}
