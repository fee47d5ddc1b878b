import AerieTestSupport
import Foundation
import SASL
import Testing

@testable import AerieAuth

/// A SCRAM client (RFC 5802 §3) built from the same primitives, to drive the server side.
struct SCRAMTestClient {
    var hash: SCRAMHash = .sha256
    var user = "user"
    var password = "pencil"
    var nonce = "rOprNGfwEbeRWgbNEkqO"
    var gs2Header = "n,,"
    var bindingData: [UInt8] = []

    var first: [UInt8] { Array((gs2Header + bare).utf8) }
    var bare: String { "n=\(user),r=\(nonce)" }

    /// The client-final message for `serverFirst`, and the server signature the client expects back.
    func final(serverFirst: [UInt8]) throws -> (message: [UInt8], serverSignature: [UInt8]) {
        let fields = String(decoding: serverFirst, as: UTF8.self).split(separator: ",").map(String.init)
        let combined = String(fields[0].dropFirst(2))
        let salt = try #require(SASLBase64.decode(String(fields[1].dropFirst(2))))
        let iterations = try #require(Int(fields[2].dropFirst(2)))
        let salted = try #require(
            SCRAMScheme.saltedPassword(hash, password: Array(password.utf8), salt: salt, iterations: iterations))
        let clientKey = hash.hmac(key: salted, Array("Client Key".utf8))
        let storedKey = hash.hash(clientKey)
        let withoutProof = "c=\(SASLBase64.encode(Array(gs2Header.utf8) + bindingData)),r=\(combined)"
        let authMessage = Array("\(bare),".utf8) + serverFirst + Array(",\(withoutProof)".utf8)
        let signature = hash.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = hash.hmac(key: salted, Array("Server Key".utf8))
        return (
            Array("\(withoutProof),p=\(SASLBase64.encode(proof))".utf8), hash.hmac(key: serverKey, authMessage)
        )
    }
}

@Suite struct SCRAMTests {
    static let rfc7677Salt = SASLBase64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!
    static let rfc7677ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

    static func credentials(password: String = "pencil", hash: SCRAMHash = .sha256) -> SCRAMCredentials {
        let salted = SCRAMScheme.saltedPassword(
            hash, password: Array(password.utf8), salt: rfc7677Salt, iterations: 4096)!
        return SCRAMCredentials(hash: hash, saltedPassword: salted, salt: rfc7677Salt, iterations: 4096)
    }

    func exchange(_ client: SCRAMTestClient, binding: [UInt8]? = nil, plus: Bool = false) throws -> SCRAMServerExchange
    {
        try SCRAMServerExchange(
            hash: client.hash, clientFirst: SCRAMClientFirst.parse(client.first), credentials: Self.credentials(),
            serverNonce: Self.rfc7677ServerNonce, channelBinding: binding, plus: plus)
    }

    /// RFC 7677 §3's exchange, byte for byte.
    @Test func rfc7677TestVector() throws {
        let server = try exchange(SCRAMTestClient())
        #expect(
            String(decoding: server.serverFirst, as: UTF8.self)
                == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        let clientFinal = Array(
            ("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=").utf8)
        #expect(try SCRAMTestClient().final(serverFirst: server.serverFirst).message == clientFinal)
        let serverFinal = try server.verify(clientFinal: clientFinal)
        #expect(String(decoding: serverFinal, as: UTF8.self) == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    }

    @Test func tamperedExchangesFail() throws {
        let server = try exchange(SCRAMTestClient())
        let good = try SCRAMTestClient().final(serverFirst: server.serverFirst).message
        var flipped = good
        flipped[flipped.count - 3] =
            flipped[flipped.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: SCRAMFailure.invalidProof) { try server.verify(clientFinal: flipped) }
        let wrongPassword = try SCRAMTestClient(password: "pencil2").final(serverFirst: server.serverFirst).message
        #expect(throws: SCRAMFailure.invalidProof) { try server.verify(clientFinal: wrongPassword) }
        let text = String(decoding: good, as: UTF8.self)
        let otherNonce = Array(text.replacingOccurrences(of: "k0,p=", with: "k1,p=").utf8)
        #expect(throws: SCRAMFailure.nonceMismatch) { try server.verify(clientFinal: otherNonce) }
        let otherBinding = Array(text.replacingOccurrences(of: "c=biws", with: "c=eSws").utf8)
        #expect(throws: SCRAMFailure.channelBindingMismatch) { try server.verify(clientFinal: otherBinding) }
        #expect(throws: SCRAMFailure.malformed) { try server.verify(clientFinal: Array("c=biws".utf8)) }
    }

    /// RFC 9266: -PLUS binds the exchange to the TLS connection; another connection's data fails.
    @Test func plusChecksTheChannelBinding() throws {
        let binding: [UInt8] = Array(repeating: 7, count: 32)
        var client = SCRAMTestClient(gs2Header: "p=tls-exporter,,", bindingData: binding)
        let server = try exchange(client, binding: binding, plus: true)
        let (message, signature) = try client.final(serverFirst: server.serverFirst)
        #expect(try server.verify(clientFinal: message) == Array("v=\(SASLBase64.encode(signature))".utf8))

        client.bindingData = Array(repeating: 8, count: 32)  // a man in the middle's own TLS connection
        let mismatched = try client.final(serverFirst: server.serverFirst).message
        #expect(throws: SCRAMFailure.channelBindingMismatch) { try server.verify(clientFinal: mismatched) }
        // Plain SCRAM refuses p=, and "y" when the server could bind (a downgrade).
        #expect(throws: SCRAMFailure.channelBindingMismatch) { try exchange(client) }
        #expect(throws: SCRAMFailure.channelBindingMismatch) {
            try exchange(SCRAMTestClient(gs2Header: "y,,"), binding: binding)
        }
        #expect(throws: SCRAMFailure.channelBindingMismatch) { try exchange(SCRAMTestClient(), plus: true) }
        _ = try exchange(SCRAMTestClient(gs2Header: "y,,"))
    }

    @Test func clientFirstGrammar() throws {
        let parsed = try SCRAMClientFirst.parse(Array("n,a=b=2Cc,n=b=2Cc=3D,r=abc,x=ext".utf8))
        #expect(parsed.user == "b,c=" && parsed.authorizationID == "b,c" && parsed.clientNonce == "abc")
        for bad in [
            "n,,m=ext,n=user,r=abc", "n,,n=us=er,r=abc", "n,,n=user", "x,,n=user,r=abc", "n,,n=,r=abc",
            "n,,n=user,r=", "n,,r=abc,n=user", "p=,,n=user,r=abc", "n,b=x,n=user,r=abc", "n,,n=user,r=a\u{7F}",
        ] {
            #expect(throws: SCRAMFailure.malformed, "\(bad)") { try SCRAMClientFirst.parse(Array(bad.utf8)) }
        }
        #expect(throws: SCRAMFailure.authorizationRefused) {
            try exchange(SCRAMTestClient(gs2Header: "n,a=admin,"))
        }
    }

    /// Dovecot's `{SCRAM-SHA-256}` (made by `doveadm pw -s SCRAM-SHA-256 -p pencil`) verifies a plain password,
    /// gives the keys SCRAM needs, and Aerie's own hash has the same form.
    @Test func dovecotStoredFormat() throws {
        let dovecot =
            "{SCRAM-SHA-256}4096,oTdr4St4054HYPSdsITRaA==,j9OeNwPG+ccjQSVVzql88B1FMCKZzZEoBlwYhZQ+Gc0=,"
            + "908WQWQckvzr2OT5L+IGlM6sGBIYp9Uri73x1OyvMRg="
        #expect(PasswordSchemes.verify(password: "pencil", stored: dovecot, allowWeakSchemes: false) == .match)
        #expect(PasswordSchemes.verify(password: "pencil!", stored: dovecot, allowWeakSchemes: false) == .mismatch)
        let keys = try PasswordSchemes.scramCredentials(
            stored: dovecot, defaultScheme: "CRYPT", hash: .sha256, allowWeakSchemes: false
        ).get()
        let client = SCRAMTestClient()
        let server = try SCRAMServerExchange(
            hash: .sha256, clientFirst: SCRAMClientFirst.parse(client.first), credentials: keys, serverNonce: "xyz",
            channelBinding: nil, plus: false)
        _ = try server.verify(clientFinal: client.final(serverFirst: server.serverFirst).message)

        let ours = try PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-256")
        let fields = ours.dropFirst("{SCRAM-SHA-256}".count).split(separator: ",")
        #expect(fields.count == 4 && fields[0] == "4096" && SASLBase64.decode(String(fields[2]))?.count == 32)
        #expect(PasswordSchemes.verify(password: "pencil", stored: ours, allowWeakSchemes: false) == .match)
        // RFC 7677 §4's floor of 4096 iterations, as Dovecot: neither made nor accepted below it.
        #expect(throws: PasswordHashError.invalidRounds(4095)) {
            try PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-256", rounds: 4095)
        }
        let low = "{SCRAM-SHA-256}4095," + dovecot.split(separator: ",", maxSplits: 1)[1]
        #expect(PasswordSchemes.verify(password: "pencil", stored: low, allowWeakSchemes: false) == .malformed)
        // SCRAM-SHA-1 is weak; SHA-256 keys do not serve SHA-1.
        let sha1 = try PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-1")
        #expect(
            PasswordSchemes.verify(password: "pencil", stored: sha1, allowWeakSchemes: false)
                == .weakSchemeRefused("SCRAM-SHA-1"))
        #expect(PasswordSchemes.verify(password: "pencil", stored: sha1, allowWeakSchemes: true) == .match)
        #expect(
            PasswordSchemes.scramCredentials(
                stored: dovecot, defaultScheme: "CRYPT", hash: .sha1, allowWeakSchemes: true)
                == .failure(.otherScheme("SCRAM-SHA-256")))
    }
}

/// The exchange as the auth process runs it: passdb lookup, keys kept between steps, penalties, userdb.
@Suite struct AuthServiceSCRAMTests {
    func withService(_ body: (AuthService, CollectingLog) async throws -> Void) async throws {
        let dir = URL(fileURLWithPath: makeTempDirectory("scram"))
        defer { removeTree(dir.path) }
        let scram = try PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-256")
        let crypt = try PasswordSchemes.hash(password: "pencil", scheme: "SHA512-CRYPT")
        let passwd = dir.appendingPathComponent("passwd")
        try ["user:\(scram):1000:1000::/home/user", "cryptuser:\(crypt):1001:1001::/home/c"].joined(separator: "\n")
            .write(to: passwd, atomically: false, encoding: .utf8)
        var configuration = AuthServiceConfiguration(passdbs: [PassDBSpec(name: "main", path: passwd.path)])
        configuration.penalty.failureDelay = .zero
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 16)
        try await body(try AuthService(configuration: configuration, log: log, pool: pool), log)
        await pool.shutdown()
    }

    static let context = AuthRequest(
        user: "", password: "", mechanism: "SCRAM-SHA-256", service: "imap", remoteIP: "192.0.2.7", secured: true)

    /// Runs both steps; `tamper` changes the client's final message.
    func run(
        _ service: AuthService, _ client: SCRAMTestClient, tamper: ([UInt8]) -> [UInt8] = { $0 }
    ) async throws
        -> SASLStepReply
    {
        let first = await service.saslStep(SASLStepRequest(exchange: 0, context: Self.context, response: client.first))
        guard case .challenge(let id, let user, let serverFirst) = first else {
            Issue.record("no challenge: \(first)")
            return first
        }
        #expect(id != 0 && user == client.user)
        let final = try client.final(serverFirst: serverFirst)
        let reply = await service.saslStep(
            SASLStepRequest(exchange: id, context: Self.context, response: tamper(final.message)))
        if case .finished(.success, let serverFinal) = reply {
            #expect(serverFinal == Array("v=\(SASLBase64.encode(final.serverSignature))".utf8))
        }
        // An exchange is answered once.
        let again = await service.saslStep(
            SASLStepRequest(exchange: id, context: Self.context, response: final.message))
        #expect(again == .finished(.failure(.temporaryFailure), serverFinal: nil))
        return reply
    }

    @Test func correctProofLogsIn() async throws {
        try await withService { service, _ in
            guard case .finished(.success(let user), _) = try await run(service, SCRAMTestClient()) else {
                Issue.record("no success")
                return
            }
            #expect(user.user == "user" && user.uid == 1000 && user.home == "/home/user")
        }
    }

    @Test func tamperedProofWrongPasswordUnknownUserAndCryptHashFail() async throws {
        try await withService { service, log in
            let tampered = try await run(service, SCRAMTestClient()) { message in
                var copy = message
                copy[copy.count - 2] ^= 0x01
                return copy
            }
            #expect(tampered == .finished(.failure(.passwordMismatch), serverFinal: nil))
            let wrong = try await run(service, SCRAMTestClient(password: "pencil2"))
            #expect(wrong == .finished(.failure(.passwordMismatch), serverFinal: nil))
            // An unknown user gets a challenge like anyone, and fails at the proof.
            let unknown = try await run(service, SCRAMTestClient(user: "nobody"))
            #expect(unknown == .finished(.failure(.passwordMismatch), serverFinal: nil))
            let crypt = try await run(service, SCRAMTestClient(user: "cryptuser"))
            #expect(crypt == .finished(.failure(.passwordMismatch), serverFinal: nil))
            let lines = log.lines.map(\.message).joined(separator: "\n")
            #expect(lines.contains("unknown user") && lines.contains("the stored password is SHA512-CRYPT"))
            #expect(lines.contains("Password mismatch") && !lines.contains("pencil"))
        }
    }
}

@Suite struct SASLExchangeTableTests {
    /// Abandoned exchanges cannot fill the table: the oldest goes, the newest (a real client's) stays.
    @Test func fullTableDropsTheOldest() throws {
        let table = SASLExchangeTable(capacity: 3)
        let client = SCRAMTestClient()
        let exchange = try SCRAMServerExchange(
            hash: .sha256, clientFirst: SCRAMClientFirst.parse(client.first), credentials: SCRAMTests.credentials(),
            serverNonce: "n", channelBinding: nil, plus: false)
        let start = ContinuousClock.now
        var ids: [UInt32] = []
        for i in 0..<4 {
            let pending = SASLExchangeTable.Pending(
                exchange: exchange, request: AuthRequest(user: "user", password: ""), name: "user", chain: nil,
                driver: "passwd-file", doomed: nil, started: start + .seconds(i))
            ids.append(table.insert(pending, now: start + .seconds(i)))
        }
        #expect(Set(ids).count == 4 && !ids.contains(0) && table.count == 3)
        #expect(table.take(ids[0], now: start + .seconds(5)) == nil)
        #expect(table.take(ids[3], now: start + .seconds(5)) != nil)
        #expect(table.take(ids[3], now: start + .seconds(5)) == nil)
        #expect(table.take(ids[2], now: start + SASLExchangeTable.lifetime + .seconds(2)) == nil)
    }
}
