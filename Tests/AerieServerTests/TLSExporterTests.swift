import Crypto
import NIOCore
import Testing

@testable import AerieServer

@Suite(.serialized) struct TLSExporterTests {
    static func hex(_ text: String) -> [UInt8] { TLSExporter.hexBytes(Substring(text))! }

    /// RFC 8448 §3 (simple 1-RTT): Derive-Secret(early secret, "derived", "") — HKDF-Expand-Label with the empty
    /// transcript's hash.
    @Test func expandLabelMatchesRFC8448() {
        let earlySecret = Self.hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a")
        let emptyHash = Array(SHA256.hash(data: [UInt8]()))
        let derived = TLSExporter.expandLabel(
            SHA256.self, secret: earlySecret, label: "derived", context: emptyHash, length: 32)
        #expect(derived == Self.hex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"))
    }

    @Test func aLoggedExporterSecretGivesOneBindingOnce() {
        let random = (0..<32).map { UInt8($0) }
        let secret = [UInt8](repeating: 7, count: 32)
        let hexRandom = random.map { String(format: "%02x", $0) }.joined()
        let hexSecret = secret.map { String(format: "%02x", $0) }.joined()
        TLSExporter.record(ByteBuffer(string: "CLIENT_TRAFFIC_SECRET_0 \(hexRandom) \(hexSecret)\n"))
        #expect(TLSExporter.channelBinding(clientRandom: random) == nil, "only EXPORTER_SECRET lines count")
        TLSExporter.record(ByteBuffer(string: "EXPORTER_SECRET \(hexRandom) \(hexSecret)\n"))
        let binding = TLSExporter.channelBinding(clientRandom: random)
        #expect(binding == TLSExporter.exporter(secret: secret, label: "EXPORTER-Channel-Binding", length: 32))
        #expect(binding?.count == 32)
        #expect(TLSExporter.channelBinding(clientRandom: random) == nil, "taken once")
    }

    @Test func theTableIsBounded() {
        let secret = [UInt8](repeating: 1, count: 48)
        let hexSecret = secret.map { String(format: "%02x", $0) }.joined()
        func random(_ n: Int) -> [UInt8] { [UInt8(n >> 8), UInt8(n & 0xFF)] + [UInt8](repeating: 0xEE, count: 30) }
        for n in 0..<(TLSExporter.maximumPending + 10) {
            let hexRandom = random(n).map { String(format: "%02x", $0) }.joined()
            TLSExporter.record(ByteBuffer(string: "EXPORTER_SECRET \(hexRandom) \(hexSecret)\n"))
        }
        #expect(TLSExporter.channelBinding(clientRandom: random(0)) == nil, "the oldest went first")
        #expect(TLSExporter.channelBinding(clientRandom: random(TLSExporter.maximumPending + 9)) != nil)
    }

    @Test func clientHelloRandomIsReadFromTheFirstRecord() {
        var hello: [UInt8] = [22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]
        let random = (100..<132).map { UInt8($0) }
        hello += random + [0, 0, 0]
        #expect(ClientHelloRandom.parse(ByteBuffer(bytes: hello))?.bytes == random)
        #expect(ClientHelloRandom.parse(ByteBuffer(bytes: Array(hello.prefix(20)))) == nil, "cut short")
        var notHandshake = hello
        notHandshake[0] = 23
        #expect(ClientHelloRandom.parse(ByteBuffer(bytes: notHandshake)) == nil)
    }
}
