import Crypto
import Foundation
import NIOCore
import NIOSSL
import Synchronization
import _CryptoExtras

// SOCK_* come from <sys/socket.h>, which CAerieSystem includes too: import both so they are found whichever
// module the clang importer gave the header to (a clean build failed with "cannot find SOCK_STREAM" otherwise).
import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The TLS private key stays in the root key keeper, which signs handshakes for the serving process (issue 11): a
/// memory disclosure in the code that parses untrusted bytes cannot leak the key.
///
/// Wire format on the signing socket (the keeper's fd 4, SOCK_SEQPACKET: one packet per message):
/// request: id (4) · TLS SignatureScheme (2) · the data to sign; reply: id (4) · status (1, 0 = ok) · signature or
/// an error text.
enum KeeperSigningWire {
    static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Reads one packet (SOCK_SEQPACKET: a whole message or nothing); nil at end of file, on an error or timeout.
    static func readPacket(_ fd: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: KeyKeeperProcess.maximumReply + 1)
        return readPacket(fd, buffer: &buffer)
    }

    /// `readPacket` into a buffer the caller keeps across packets.
    static func readPacket(_ fd: Int32, buffer: inout [UInt8]) -> [UInt8]? {
        while true {
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0, got < buffer.count else { return nil }
            return Array(buffer[..<got])
        }
    }

    /// Sends one packet.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        while true {
            let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            return sent == bytes.count
        }
    }
}

/// A private key as the keeper holds it: parsed by swift-crypto, never handed out.
enum KeeperPrivateKey: Sendable {
    case rsa(_RSA.Signing.PrivateKey)
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)

    /// nil: a key the keeper cannot sign with (encrypted, or another type); the server then loads it itself.
    init?(pem: [UInt8]) {
        let text = String(decoding: pem, as: UTF8.self)
        if let key = try? _RSA.Signing.PrivateKey(pemRepresentation: text) {
            self = .rsa(key)
        } else if let key = try? P256.Signing.PrivateKey(pemRepresentation: text) {
            self = .p256(key)
        } else if let key = try? P384.Signing.PrivateKey(pemRepresentation: text) {
            self = .p384(key)
        } else if let key = try? P521.Signing.PrivateKey(pemRepresentation: text) {
            self = .p521(key)
        } else {
            return nil
        }
    }

    /// What the serving process learns: the key type and its public half (which identifies it).
    var publicDescription: [UInt8] {
        switch self {
        case .rsa(let key): Array("rsa".utf8) + [0] + Array(key.publicKey.derRepresentation)
        case .p256(let key): Array("p256".utf8) + [0] + Array(key.publicKey.derRepresentation)
        case .p384(let key): Array("p384".utf8) + [0] + Array(key.publicKey.derRepresentation)
        case .p521(let key): Array("p521".utf8) + [0] + Array(key.publicKey.derRepresentation)
        }
    }

    /// RFC 8446 §4.2.3 signature schemes, over the unhashed handshake data.
    func sign(scheme: UInt16, data: [UInt8]) throws -> [UInt8] {
        switch (self, scheme) {
        case (.rsa(let key), 0x0804): return try Array(key.signature(for: SHA256.hash(data: data), padding: .PSS).rawRepresentation)
        case (.rsa(let key), 0x0805): return try Array(key.signature(for: SHA384.hash(data: data), padding: .PSS).rawRepresentation)
        case (.rsa(let key), 0x0806): return try Array(key.signature(for: SHA512.hash(data: data), padding: .PSS).rawRepresentation)
        // PKCS #1 v1.5 only where TLS 1.2 clients ask for it (TLS 1.3 handshakes are always PSS).
        case (.rsa(let key), 0x0401):
            return try Array(key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), 0x0501):
            return try Array(key.signature(for: SHA384.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.rsa(let key), 0x0601):
            return try Array(key.signature(for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation)
        case (.p256(let key), 0x0403): return try Array(key.signature(for: SHA256.hash(data: data)).derRepresentation)
        case (.p384(let key), 0x0503): return try Array(key.signature(for: SHA384.hash(data: data)).derRepresentation)
        case (.p521(let key), 0x0603): return try Array(key.signature(for: SHA512.hash(data: data)).derRepresentation)
        default: throw ServerStartError("signature scheme 0x\(String(scheme, radix: 16)) does not fit this key")
        }
    }

    static func signatureAlgorithms(kind: String) -> [SignatureAlgorithm] {
        switch kind {
        case "rsa":
            [.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512, .rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512]
        case "p256": [.ecdsaSecp256R1Sha256]
        case "p384": [.ecdsaSecp384R1Sha384]
        case "p521": [.ecdsaSecp521R1Sha512]
        default: []
        }
    }
}

/// The keeper's signing loop: requests from fd 4, signed concurrently, answered in any order.
enum KeeperSigningService {
    static let key = Mutex<KeeperPrivateKey?>(nil)

    static func serve(fd: Int32) {
        let replies = Mutex(())
        let queue = DispatchQueue(label: "aerie.tls-keeper.sign", attributes: .concurrent)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while let request = KeeperSigningWire.readPacket(fd, buffer: &buffer), request.count >= 6 {
            queue.async {
                let id = Array(request[0..<4])
                let scheme = UInt16(request[4]) << 8 | UInt16(request[5])
                var reply: [UInt8]
                do {
                    guard let key = key.withLock({ $0 }) else { throw ServerStartError("no key loaded") }
                    reply = id + [0] + (try key.sign(scheme: scheme, data: Array(request[6...])))
                } catch {
                    reply = id + [1] + Array("\(error)".utf8)
                }
                let sent = replies.withLock { _ in KeeperSigningWire.writeAll(fd, reply) }
                if !sent { exit(0) }
            }
        }
        exit(0)
    }
}

/// The serving process's side: sends signing requests, and a reader thread completes their promises.
final class KeeperSigner: Sendable {
    private struct State {
        var nextID: UInt32 = 0
        var waiting: [UInt32: EventLoopPromise<ByteBuffer>] = [:]
        var gone = false
    }
    private let fd: Int32
    private let state = Mutex(State())
    static let answerTimeout = TimeAmount.seconds(5)
    /// Called once when the keeper's end closes (it died).
    let onGone = Mutex<(@Sendable () -> Void)?>(nil)

    init(fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in readReplies() }
        thread.name = "tls-keeper-replies"
        thread.stackSize = 256 * 1024
        thread.start()
    }

    func sign(scheme: UInt16, data: ByteBuffer, eventLoop: any EventLoop) -> EventLoopFuture<ByteBuffer> {
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let fd = fd
        let sent: UInt32? = state.withLock { state in
            guard !state.gone else { return nil }
            let id = state.nextID
            state.nextID &+= 1
            state.waiting[id] = promise
            let request = KeeperSigningWire.uint32(id) + [UInt8(scheme >> 8), UInt8(scheme & 0xFF)]
                + Array(data.readableBytesView)
            // A few hundred octets into a socketpair the keeper keeps draining: this does not block in practice.
            if KeeperSigningWire.writeAll(fd, request) { return id }
            state.waiting[id] = nil
            return nil
        }
        guard let id = sent else {
            promise.fail(ServerStartError("TLS key keeper is gone"))
            return promise.futureResult
        }
        // A worker killed while signing never answers; its replacement does not know the request.
        let timeout = eventLoop.scheduleTask(in: Self.answerTimeout) { [self] in
            state.withLock { $0.waiting.removeValue(forKey: id) }?.fail(ServerStartError("TLS key keeper did not answer"))
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        return promise.futureResult
    }

    private func readReplies() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while let reply = KeeperSigningWire.readPacket(fd, buffer: &buffer), reply.count >= 5 {
            let id = KeeperSigningWire.uint32(reply[0..<4])
            guard let promise = state.withLock({ $0.waiting.removeValue(forKey: id) }) else { continue }
            if reply[4] == 0 {
                promise.succeed(ByteBuffer(bytes: reply[5...]))
            } else {
                promise.fail(ServerStartError("TLS key keeper: " + String(decoding: reply[5...], as: UTF8.self)))
            }
        }
        let orphans: [EventLoopPromise<ByteBuffer>] = state.withLock { state in
            state.gone = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for promise in orphans { promise.fail(ServerStartError("TLS key keeper is gone")) }
        onGone.withLock { $0 }?()
    }
}

/// The private key NIOSSL sees when the keeper holds the real one.
struct KeeperSignedKey: NIOSSLCustomPrivateKey, Hashable {
    let kind: String
    let publicKeyDER: [UInt8]
    let signer: KeeperSigner

    var signatureAlgorithms: [SignatureAlgorithm] { KeeperPrivateKey.signatureAlgorithms(kind: kind) }
    var derBytes: [UInt8] { publicKeyDER }

    func sign(channel: any Channel, algorithm: SignatureAlgorithm, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        signer.sign(scheme: algorithm.rawValue, data: data, eventLoop: channel.eventLoop)
    }

    func decrypt(channel: any Channel, data: ByteBuffer) -> EventLoopFuture<ByteBuffer> {
        channel.eventLoop.makeFailedFuture(ServerStartError("RSA key exchange is not offered"))
    }

    static func == (a: Self, b: Self) -> Bool { a.kind == b.kind && a.publicKeyDER == b.publicKeyDER }
    func hash(into hasher: inout Hasher) { hasher.combine(publicKeyDER) }
}
