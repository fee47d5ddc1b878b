import AerieAuth

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie adm --host` commands the auth process answers: the serving process passes them on over the auth
/// socket, as `aerie adm` on the server's machine would.
enum AdminAuthForwarding {
    static let maxListing = 6 * 1024  // under AuthWire.maxString, so the note fits
    /// One admin request and its answer; blocking, with a 10 s receive timeout.
    static func ask(path: String, words: [String]) -> (ok: Bool, text: String) {
        let fd: Int32
        do { fd = try UnixSocket.connect(path, receiveTimeout: 10) } catch {
            return (false, error == .pathTooLong ? "\(path): too long" : "the auth process is not reachable")
        }
        defer { close(fd) }
        guard let request = try? AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: words)),
            request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count
        else { return (false, "writing to the auth process failed") }
        var frames = AuthWire.FrameBuffer()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        // A listing (`user -A`) comes in parts before the reply; the answer over TLS is one text, so it is bounded.
        var parts: [String] = []
        var partBytes = 0
        while true {
            do {
                if let payload = try frames.next() {
                    if let part = try AuthWire.decodeAdminPart(payload) {
                        partBytes += part.utf8.count + 1
                        if partBytes <= maxListing { parts.append(part) }
                        continue
                    }
                    let reply = try AuthWire.decodeAdminReply(payload)
                    if partBytes > maxListing { parts.append("… (cut: list on the server for the rest)") }
                    return (reply.ok, (parts + (reply.text.isEmpty ? [] : [reply.text])).joined(separator: "\n"))
                }
            } catch { return (false, "the auth process sent a malformed answer") }
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return (false, "the auth process closed the connection without an answer") }
            frames.append(chunk[0..<got])
        }
    }
}
