import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.3.10: one personal namespace, with the configured separator.
    static let namespace = IMAPCommandSpec(
        "NAMESPACE", state: .authenticated,
        mail: .returning { session, _ in
            .ok(
                "Namespace completed.",
                untagged: [.untagged(IMAPResponseLine.namespace(personalSeparator: session.settings.separator))])
        })
}
