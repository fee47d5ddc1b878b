import AerieAuth
import AerieCore
import CAerieSystem
import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the login process tells the mail service about a connection it authenticated (issue 11 hand-off). It
/// travels as one SOCK_SEQPACKET message (`encoded`, binary) with the connection's descriptor attached (SCM_RIGHTS).
struct LoginHandoff: Sendable, Equatable {
    /// "imap" or "pop3".
    var service: String
    var user: String
    var uid: UInt32
    var gid: UInt32
    var home: String
    /// The userdb fields the auth reply carried.
    var extraFields: [String: String]
    var sessionID: String
    var remoteIP: String
    var localIP: String
    var remotePort: Int?
    var localPort: Int?
    /// The client's connection to the login process used TLS (the descriptor is then the plaintext relay).
    var isTLS: Bool
    var proxiedTLS: Bool
    var trusted: Bool
    var clientCertificateUser: String?
    /// IMAP: the login command's tag; the mail service sends its tagged OK.
    var tag: String?
    /// IMAP ENABLE before login (none today: RFC 5161 allows ENABLE only after it).
    var enabled: [String]
    /// What the client sent behind the login command (pipelining), not yet read as commands.
    var pipelined: [UInt8]
    /// The login line fail2ban reads, as the login process made it with `mpid=0`; the mail service logs it with
    /// its own pid (Dovecot's mpid: the process that serves the mail).
    var loginLine: String?
    /// Traffic so far, as the login process counted it (`aerie adm who`).
    var bytesIn = 0
    var bytesOut = 0
    /// The auth process's one-time token for this login (`LoginTokens`): the master redeems it for the user and
    /// userdb fields above, which it sets from the auth process's answer, never from the login process's claim.
    var token: String

    /// A message larger than this is refused: the pipelined bytes are bounded by the pre-login framing limits.
    static let maximumSize = 256 * 1024

    init(
        service: String, user: AuthenticatedUser, context: ConnectionContext, tag: String?, loginLine: String?,
        pipelined: [UInt8]
    ) {
        self.service = service
        self.user = user.user
        self.uid = user.uid
        self.gid = user.gid
        self.home = user.home
        var fields = user.extraFields
        self.token = fields.removeValue(forKey: LoginTokens.field) ?? ""
        self.extraFields = fields
        self.sessionID = context.sessionID
        self.remoteIP = context.remoteIP
        self.localIP = context.localIP
        self.remotePort = context.remotePort
        self.localPort = context.localPort
        self.isTLS = context.isTLS
        self.proxiedTLS = context.proxiedTLS
        self.trusted = context.trusted
        self.clientCertificateUser = context.clientCertificateUser
        self.tag = tag
        self.enabled = []
        self.pipelined = pipelined
        self.loginLine = loginLine
    }

    /// The login line with this process as `mpid`.
    var loginLineForThisProcess: String? {
        guard let loginLine else { return nil }
        // Bytewise: Foundation's replacingOccurrences cost the mail service more per login than the rest of it.
        let line = Array(loginLine.utf8), needle = Array("mpid=0,".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(line.count + 8)
        var index = 0
        while index < line.count {
            if line[index...].starts(with: needle) {
                out += Self.processIDField
                index += needle.count
            } else {
                out.append(line[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `mpid=<this process>,`: the pid does not change after start (the services exec, never fork).
    private static let processIDField = Array("mpid=\(getpid()),".utf8)

    var authenticatedUser: AuthenticatedUser {
        AuthenticatedUser(user: user, uid: uid, gid: gid, home: home, extraFields: extraFields)
    }

    /// The connection as the mail service sees it: no STARTTLS (the session is past login).
    var context: ConnectionContext {
        var context = ConnectionContext(
            remoteIP: remoteIP, localIP: localIP, sessionID: sessionID, isTLS: isTLS, startTLSAvailable: false,
            remotePort: remotePort, localPort: localPort, proxiedTLS: proxiedTLS, trusted: trusted)
        context.clientCertificateUser = clientCertificateUser
        return context
    }

    /// The first byte of an encoded hand-off: a message of another layout is refused, not misread.
    static let formatVersion: UInt8 = 1

    /// AuthWire's primitives (2-byte-length UTF-8 strings, big-endian integers), fields in declaration order; the
    /// user and userdb fields as an auth reply carries them. JSON cost the mail service more CPU per login than the
    /// rest of the hand-off (bench/RESULTS.md, session 9).
    func encoded() throws -> [UInt8] {
        guard pipelined.count <= Self.maximumSize, enabled.count <= AuthWire.maxExtraFields else {
            throw AuthWireError.tooLarge
        }
        var out = AuthWire.Writer()
        out.byte(Self.formatVersion)
        try out.string(service)
        try out.result(.success(authenticatedUser))
        for text in [sessionID, remoteIP, localIP] { try out.string(text) }
        for port in [remotePort, localPort] {
            guard let port, let value = UInt32(exactly: port) else {
                out.byte(0)
                continue
            }
            out.byte(1)
            out.u32(value)
        }
        out.byte((isTLS ? 1 : 0) | (proxiedTLS ? 2 : 0) | (trusted ? 4 : 0))
        for text in [clientCertificateUser, tag, loginLine] { try out.optionalString(text) }
        out.u16(UInt16(enabled.count))
        for name in enabled { try out.string(name) }
        out.longBlob(pipelined)
        out.u64(UInt64(max(0, bytesIn)))
        out.u64(UInt64(max(0, bytesOut)))
        try out.string(token)
        return out.payload
    }

    static func decode(_ bytes: [UInt8]) throws -> LoginHandoff {
        var reader = AuthWire.Reader(bytes)
        guard try reader.byte() == formatVersion else { throw AuthWireError.malformed }
        let service = try reader.string()
        guard case .success(let user) = try reader.result() else { throw AuthWireError.malformed }
        let sessionID = try reader.string(), remoteIP = try reader.string(), localIP = try reader.string()
        var ports: [Int?] = []
        for _ in 0..<2 {
            switch try reader.byte() {
            case 0: ports.append(nil)
            case 1: ports.append(Int(try reader.u32()))
            default: throw AuthWireError.malformed
            }
        }
        let flags = try reader.byte()
        guard flags <= 7 else { throw AuthWireError.malformed }
        let clientCertificateUser = try reader.optionalString()
        let tag = try reader.optionalString(), loginLine = try reader.optionalString()
        let count = Int(try reader.u16())
        guard count <= AuthWire.maxExtraFields else { throw AuthWireError.tooLarge }
        var enabled: [String] = []
        for _ in 0..<count { enabled.append(try reader.string()) }
        let pipelined = try reader.longBlob(limit: maximumSize)
        let bytesIn = try reader.u64(), bytesOut = try reader.u64()
        let token = try reader.string()
        try reader.end()
        let context = ConnectionContext(
            remoteIP: remoteIP, localIP: localIP, sessionID: sessionID, isTLS: flags & 1 != 0,
            startTLSAvailable: false, remotePort: ports[0], localPort: ports[1], proxiedTLS: flags & 2 != 0,
            trusted: flags & 4 != 0)
        var header = LoginHandoff(
            service: service, user: user, context: context, tag: tag, loginLine: loginLine, pipelined: pipelined)
        header.clientCertificateUser = clientCertificateUser
        header.enabled = enabled
        header.bytesIn = Int(clamping: bytesIn)
        header.bytesOut = Int(clamping: bytesOut)
        header.token = token
        return header
    }
}

/// One message with at most one descriptor over a unix socket.
enum DescriptorPassing {
    static func send(_ socket: Int32, _ bytes: [UInt8], fd: Int32) -> Bool {
        while true {
            let sent = bytes.withUnsafeBytes { aerie_send_with_fd(socket, $0.baseAddress, $0.count, fd) }
            if sent < 0 && errno == EINTR { continue }
            return sent == bytes.count
        }
    }

    /// nil at end of file or on an error; a message that did not fit is reported empty (and its fd closed).
    static func receive(_ socket: Int32, buffer: inout [UInt8]) -> (bytes: [UInt8], fd: Int32)? {
        while true {
            var fd: Int32 = -1
            let got = buffer.withUnsafeMutableBytes { aerie_receive_with_fd(socket, $0.baseAddress, $0.count, &fd) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                if fd >= 0 { close(fd) }
                return nil
            }
            guard got < buffer.count else {
                if fd >= 0 { close(fd) }
                return ([], -1)
            }
            return (Array(buffer[..<got]), fd)
        }
    }
}

/// The login process's end of the hand-off socket.
public final class LoginHandoffSender: Sendable {
    let socket: Int32
    init(socket: Int32) { self.socket = socket }

    /// A stream socketpair for one relayed session: (the login process's end, the mail service's end).
    static func relayPair() -> (Int32, Int32)? {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return nil
        }
        return (pair[0], pair[1])
    }

    /// Passes `fd` (the client's socket, or the mail side of the TLS relay) with `header`; the caller closes `fd`.
    func send(_ header: LoginHandoff, fd: Int32) -> Bool {
        guard let bytes = try? header.encoded(), bytes.count < LoginHandoff.maximumSize else { return false }
        return DescriptorPassing.send(socket, bytes, fd: fd)
    }
}

/// NIO does not expose a channel's descriptor: the login process finds its TCP socket by its two addresses (a TCP
/// connection is the only one with both). Descriptors are handed out lowest first, so the search stops after a long
/// run of closed ones. One system call per descriptor (getpeername tells closed, not a socket and another peer
/// apart); only the one with the client's address is asked for its own. The descriptor found last is tried first:
/// the kernel hands out the lowest free number, often the one the last hand-off freed.
enum SocketSearch {
    private static let lastFound = Atomic<Int32>(-1)

    static func descriptor(local: SocketAddress, remote: SocketAddress) -> Int32? {
        let hint = lastFound.load(ordering: .relaxed)
        if hint >= 0, compare(hint, remote, getpeername) == .same, compare(hint, local, getsockname) == .same {
            return hint
        }
        guard let fd = scan(local: local, remote: remote) else { return nil }
        lastFound.store(fd, ordering: .relaxed)
        return fd
    }

    private static func scan(local: SocketAddress, remote: SocketAddress) -> Int32? {
        var closedInARow = 0
        var fd: Int32 = 0
        while closedInARow < 1024 {
            defer { fd += 1 }
            switch compare(fd, remote, getpeername) {
            case .closed:
                closedInARow += 1
            case .other:
                closedInARow = 0
            case .same:
                closedInARow = 0
                if compare(fd, local, getsockname) == .same { return fd }
            }
        }
        return nil
    }

    private enum Comparison { case closed, other, same }

    private static func compare(
        _ fd: Int32, _ address: SocketAddress,
        _ query: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> Comparison {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { query(fd, $0, &length) }
        }
        guard got == 0 else { return errno == EBADF ? .closed : .other }
        let same = address.withSockAddr { pointer, size in
            size == Int(length) && withUnsafeBytes(of: &storage) { memcmp($0.baseAddress!, pointer, size) == 0 }
        }
        return same ? .same : .other
    }
}

/// Relays bytes between two channels on the same event loop, with backpressure: the login process keeps a TLS
/// session and passes plaintext to the mail service over a socketpair (Dovecot's way; NIOSSL offers no kTLS).
final class RelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (RelayHandler, RelayHandler) {
        let first = RelayHandler()
        let second = RelayHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    private func partnerWrite(_ buffer: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func partnerFlush() { context?.flush() }
    private func partnerClose() { context?.close(promise: nil) }
    private var partnerIsWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerBecameWritable() {
        if pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { partner?.partnerClose() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if partner?.partnerIsWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }
}

/// Runs a task's jobs on one NIO event loop (the login process has no usable global executor: see
/// `SessionChannelHandler.taskExecutor`).
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}
