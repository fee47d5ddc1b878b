import IMAPProtocol

extension IMAPCommands {
    /// RFC 4978 §3 and §5 (`command-auth`): after login only.
    static let compress = IMAPCommandSpec("COMPRESS", state: .authenticated) { session, command in
        guard case .compress(let algorithm) = command.kind else { return session.misrouted(command) }
        return session.compress(tag: command.tag, algorithm: algorithm)
    }
}

extension IMAPSession {
    /// RFC 4978 §3: once per connection, DEFLATE the only algorithm.
    mutating func compress(tag: IMAPTag, algorithm: String) -> [IMAPSessionAction] {
        if compressionActive {
            return [.send(.tagged(tag, .no, .other("COMPRESSIONACTIVE"), "DEFLATE compression is already active."))]
        }
        guard algorithm == "DEFLATE" else { return badCommand(tag: tag, message: "Unknown compression algorithm.") }
        compressionActive = true
        return [.send(.tagged(tag, .ok, nil, "Begin compression.")), .startCompression]
    }
}
