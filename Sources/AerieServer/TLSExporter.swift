import Crypto
import NIOCore
import NIOSSL
import Synchronization

/// RFC 9266 `tls-exporter` channel binding for SCRAM-SHA-256-PLUS, from public NIOSSL APIs only: NIOSSL has no
/// `SSL_export_keying_material`, but its key-log callback hands out each TLS 1.3 connection's exporter secret
/// (keyed by the ClientHello random, which `ClientHelloRandomSniffer` reads off the wire), and RFC 8446 §7.5 derives
/// the exporter from that secret. Installed only when `auth_mechanisms` offers scram-sha-256-plus.
enum TLSExporter {
    /// RFC 9266 §2.
    static let channelBindingLabel = "EXPORTER-Channel-Binding"
    static let channelBindingLength = 32
    /// Secrets of handshakes whose connection has not asked for its binding yet; failed handshakes leave theirs
    /// behind, so the table is bounded and the oldest go first.
    static let maximumPending = 4096

    private struct Pending {
        var secrets: [[UInt8]: [UInt8]] = [:]
        var order: [[UInt8]] = []
        var start = 0
    }

    private static let pending = Mutex(Pending())

    /// NIOSSL's key-log callback: keeps `EXPORTER_SECRET <client random> <secret>` lines, ignores every other.
    @Sendable static func record(_ line: ByteBuffer) {
        guard let text = line.getString(at: line.readerIndex, length: line.readableBytes) else { return }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 3, fields[0] == "EXPORTER_SECRET", let random = hexBytes(fields[1]), random.count == 32,
            let secret = hexBytes(fields[2]), secret.count == 32 || secret.count == 48
        else { return }
        pending.withLock { table in
            if table.secrets.updateValue(secret, forKey: random) == nil { table.order.append(random) }
            while table.secrets.count > maximumPending, table.start < table.order.count {
                table.secrets[table.order[table.start]] = nil
                table.start += 1
            }
            if table.start > maximumPending {
                table.order.removeFirst(table.start)
                table.start = 0
            }
        }
    }

    /// The channel binding data of the TLS 1.3 connection whose ClientHello carried `clientRandom`; nil when its
    /// secret was not logged (TLS 1.2, where RFC 9266 needs the extended master secret NIOSSL does not report).
    static func channelBinding(clientRandom: [UInt8]) -> [UInt8]? {
        guard let secret = pending.withLock({ $0.secrets.removeValue(forKey: clientRandom) }) else { return nil }
        return exporter(secret: secret, label: channelBindingLabel, length: channelBindingLength)
    }

    /// RFC 8446 §7.5 TLS-Exporter(label, "", length); the secret's length names the suite's hash (32: SHA-256,
    /// 48: SHA-384).
    static func exporter(secret: [UInt8], label: String, length: Int) -> [UInt8] {
        secret.count == 48
            ? exporter(SHA384.self, secret: secret, label: label, length: length)
            : exporter(SHA256.self, secret: secret, label: label, length: length)
    }

    private static func exporter<H: HashFunction>(_: H.Type, secret: [UInt8], label: String, length: Int) -> [UInt8] {
        let emptyHash = Array(H.hash(data: [UInt8]()))
        // Derive-Secret(Secret, label, "") = HKDF-Expand-Label(Secret, label, Transcript-Hash(""), Hash.length)
        let derived = expandLabel(H.self, secret: secret, label: label, context: emptyHash, length: H.Digest.byteCount)
        return expandLabel(H.self, secret: derived, label: "exporter", context: emptyHash, length: length)
    }

    /// RFC 8446 §7.1 HKDF-Expand-Label.
    static func expandLabel<H: HashFunction>(
        _: H.Type, secret: [UInt8], label: String, context: [UInt8], length: Int
    ) -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        let key = HKDF<H>.expand(pseudoRandomKey: SymmetricKey(data: secret), info: info, outputByteCount: length)
        return key.withUnsafeBytes { Array($0) }
    }

    static func hexBytes(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes
    }
}

/// The ClientHello's random (RFC 8446 §4.1.2), read from the first TLS record before NIOSSL sees it, sent on as
/// a user event; then the sniffer leaves the pipeline. A ClientHello split before its random gives no binding.
struct ClientHelloRandom: Sendable, Equatable {
    var bytes: [UInt8]

    /// record header (type 22, version, length) + handshake header (type 1, length) + legacy_version, then 32 bytes.
    static func parse(_ buffer: ByteBuffer) -> ClientHelloRandom? {
        let offset = buffer.readerIndex
        guard buffer.readableBytes >= 5 + 4 + 2 + 32, buffer.getInteger(at: offset, as: UInt8.self) == 22,
            buffer.getInteger(at: offset + 5, as: UInt8.self) == 1,
            let random = buffer.getBytes(at: offset + 11, length: 32)
        else { return nil }
        return ClientHelloRandom(bytes: random)
    }
}

final class ClientHelloRandomSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let random = ClientHelloRandom.parse(unwrapInboundIn(data)) {
            context.fireUserInboundEventTriggered(random)
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension TLSSetup {
    /// The TLS handler, behind a ClientHello sniffer when SCRAM -PLUS needs the connection's exporter secret.
    static func serverHandlers(environment: ConnectionEnvironment, context: NIOSSLContext) -> [any ChannelHandler] {
        let tls = serverHandler(context: context, clientCertificates: environment.clientCertificates)
        return environment.offersChannelBinding ? [ClientHelloRandomSniffer(), tls] : [tls]
    }
}
