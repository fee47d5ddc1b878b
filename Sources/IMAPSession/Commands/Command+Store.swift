import IMAPProtocol

extension IMAPCommands {
    /// RFC 9051 §6.4.6, RFC 7162 §3.1.3 (UNCHANGEDSINCE)
    static let store = storeEntry("STORE", uid: false)
    static let uidStore = storeEntry("UID STORE", uid: true)

    private static func storeEntry(_ name: String, uid: Bool) -> IMAPCommandSpec {
        IMAPCommandSpec(
            name, state: .selected, allowsExpunges: uid, runsOnDiskPool: true,
            mail: .streaming { session, command, output in
                guard case .store(let store) = command.kind, store.uid == uid else {
                    throw CommandFailure.unsupported(command)
                }
                return try session.store(store, output: output)
            })
    }
}
