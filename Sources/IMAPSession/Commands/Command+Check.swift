import IMAPProtocol

extension IMAPCommands {
    /// RFC 3501 §6.4.1: nothing to do beyond the change announcements every command makes.
    static let check = IMAPCommandSpec("CHECK", state: .selected, mail: .returning { _, _ in .ok("Check completed.") })
}
