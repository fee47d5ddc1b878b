import AerieCore
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `aerie adm who all|kick` reach the login process's pre-login connections (issue 11): the mail service owns the
/// admin socket, and asks the master over a SOCK_SEQPACKET socketpair, which asks each live login generation over
/// that generation's own socketpair (`LoginProcess.MasterSide.relayAdmin`, `ProcessAdmin`'s format with an expiry).
/// A request is `ID\nWORD\nWORD…`, the answer `ID\nTEXT`; the id drops an answer that comes after its request gave
/// up.
enum LoginAdmin {
    /// How long the mail service waits for the login process's answer.
    static let timeoutMilliseconds: Int32 = 3_000
    static let maximumMessage = 64 * 1024

    /// The commands that concern pre-login connections: the only ones the login process carries out.
    static func concernsPreLogin(_ command: AdminCommand) -> Bool {
        switch command {
        case .who(all: true), .kick(.all), .kick(.network), .loginsDisable, .loginsEnable: true
        default: false
        }
    }

    static func request(id: UInt64, words: [String]) -> [UInt8] {
        Array((["\(id)"] + words).joined(separator: "\n").utf8)
    }

    /// At most `maximumMessage` bytes.
    static func answer(id: UInt64, text: String) -> [UInt8] {
        let answer = Array("\(id)\n\(text)".utf8)
        return answer.count > maximumMessage ? Array(answer.prefix(maximumMessage - 1)) : answer
    }

    /// The text of the answer to request `id`; nil for anything else (a late answer to an earlier one).
    static func parseAnswer(_ bytes: [UInt8], id: UInt64) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let newline = text.firstIndex(of: "\n"), UInt64(text[..<newline]) == id else { return nil }
        return String(text[text.index(after: newline)...])
    }

    /// (id, words) of a request; nil if it is not one.
    static func parseRequest(_ bytes: [UInt8]) -> (UInt64, [String])? {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = parts.first, let id = UInt64(first) else { return nil }
        return (id, parts.dropFirst().map(String.init))
    }

    /// Merges the login process's part of an answer into the mail service's own.
    static func merge(_ command: AdminCommand, here: String, loginProcess: String) -> String {
        switch command {
        case .who:
            // Both are tables with the same header: keep ours, add their rows.
            let rows = loginProcess.split(separator: "\n").dropFirst()
            return ([here] + rows.map(String.init)).joined(separator: "\n")
        case .kick:
            let count = kickedCount(here) + kickedCount(loginProcess)
            return "kicked \(count) connection\(count == 1 ? "" : "s")"
        default:
            return here
        }
    }

    static func kickedCount(_ text: String) -> Int {
        text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }

    /// The login process's side: answers the master's requests (`ProcessAdmin` format) on `fd` from its own
    /// connections, on a thread of its own, until the socket closes.
    static func serve(fd: Int32, executor: AdminExecutor) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: maximumMessage)
            while let (bytes, _) = DescriptorPassing.receive(fd, buffer: &buffer) {
                guard let reply = ProcessAdmin.answer(bytes, executor: executor, permits: concernsPreLogin) else {
                    continue
                }
                _ = DescriptorPassing.send(fd, reply, fd: -1)
            }
        }
        thread.name = "login-admin"
        thread.stackSize = 256 * 1024
        thread.start()
    }
}

/// The mail service's side of `LoginAdmin` (and of `MasterAdmin`, same format): one request at a time.
public final class LoginWorkerAdmin: Sendable {
    let fd: Int32
    private let state = NSLock()
    /// From the clock: a restarted mail service never takes an answer meant for its predecessor's request.
    private nonisolated(unsafe) var nextID = UInt64(ProcessAdmin.wallMilliseconds()) << 16

    public init(fd: Int32) { self.fd = fd }

    /// The login process's answer, or nil when it has none in time (it may be restarting).
    func ask(_ words: [String]) async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.exchange(words)) }
        }
    }

    private func exchange(_ words: [String]) -> String? {
        state.lock()
        defer { state.unlock() }
        let id = nextID
        nextID += 1
        guard DescriptorPassing.send(fd, LoginAdmin.request(id: id, words: words), fd: -1) else { return nil }
        let deadline = ContinuousClock.now + .milliseconds(Int(LoginAdmin.timeoutMilliseconds))
        var buffer = [UInt8](repeating: 0, count: LoginAdmin.maximumMessage)
        while ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, max(1, milliseconds)) > 0 else { continue }
            guard let (bytes, _) = DescriptorPassing.receive(fd, buffer: &buffer) else { return nil }
            guard let text = LoginAdmin.parseAnswer(bytes, id: id) else { continue }
            return text
        }
        return nil
    }
}
