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

extension MailSession {
    /// Called every poll interval while IDLE runs: announce what changed.
    public func idlePoll(output: any IMAPOutput) {
        if isIdling { notifyChanges(output: output, allowExpunge: true) }
        deliverNotifications(output: output, betweenCommands: true)
    }

    /// The client sent DONE.
    public func endIdle(output: any IMAPOutput) {
        guard let tag = idleTag else { return }
        idleTag = nil
        notifyChanges(output: output, allowExpunge: true)
        output.send(.tagged(tag, .ok, nil, "Idle completed."))
    }
}
