import AerieAuth
import AerieCore
import AerieStorage
import POP3Protocol
import POP3Session

func makeStore(_ root: String) throws -> MailStore {
    try MailStore(configuration: MailStoreConfiguration(root: root, fsync: false))
}

/// Collects what the maildrop writes.
final class CollectingOutput: POP3Output, @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    func send(_ bytes: [UInt8]) { self.bytes.append(contentsOf: bytes) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    func take() -> [UInt8] {
        defer { bytes = [] }
        return bytes
    }
}

/// The lines a client reads from a list of actions, CRLF removed.
func lines(_ actions: [POP3SessionAction]) -> [String] {
    actions.flatMap { action -> [String] in
        guard case .send(let bytes) = action else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }
}

func authRequest(_ actions: [POP3SessionAction]) -> AuthRequest? {
    for action in actions { if case .authenticate(let request) = action { return request } }
    return nil
}

let demo = AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: "/home/demo")

/// A session driven as a transcript.
struct Transcript {
    var session: POP3Session

    init(tls: Bool = false, startTLSAvailable: Bool = true, settings: POP3SessionSettings = .init()) {
        session = POP3Session(
            settings: settings,
            context: ConnectionContext(
                remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: tls,
                startTLSAvailable: startTLSAvailable))
    }

    mutating func send(_ line: String) -> [POP3SessionAction] { session.receive(Array(line.utf8)) }
}

/// RFC 1939 §3: removes the byte-stuffing dots and the terminator of a multi-line body (after the status line).
func unstuff(_ body: [UInt8]) -> [UInt8] {
    let terminator: [UInt8] = Array(".\r\n".utf8)
    precondition(Array(body.suffix(3)) == terminator)
    var out: [UInt8] = []
    var atLineStart = true
    for byte in body.dropLast(3) {
        if atLineStart && byte == UInt8(ascii: ".") {
            atLineStart = false
            continue
        }
        out.append(byte)
        atLineStart = byte == 0x0A
    }
    return out
}

/// Splits a multi-line response into its status line and the rest.
func splitStatus(_ bytes: [UInt8]) -> (status: String, body: [UInt8]) {
    let crlf = bytes.firstIndex(of: 0x0A)!
    return (String(decoding: bytes[..<(crlf - 1)], as: UTF8.self), Array(bytes[(crlf + 1)...]))
}
