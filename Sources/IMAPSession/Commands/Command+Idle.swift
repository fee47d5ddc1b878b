import IMAPProtocol

extension IMAPCommands {
    /// RFC 2177 §3: the continuation, then changes as they come (`MailSession.idlePoll`) until DONE
    /// (`MailSession.endIdle`) sends the tagged OK.
    static let idle = IMAPCommandSpec(
        "IDLE", state: .authenticated,
        mail: .streaming { session, command, output in
            session.idleTag = command.tag
            output.send(.continuation("idling"))
            session.notifyChanges(output: output, allowExpunge: true)
            return MailSession.CommandResult(final: nil, notify: false)
        })
}
