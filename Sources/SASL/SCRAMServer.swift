internal import Crypto

/// The hash a SCRAM mechanism is built on: SHA-1 (RFC 5802 §5) or SHA-256 (RFC 7677 §3).
public enum SCRAMHash: String, Sendable, CaseIterable {
    case sha1 = "SHA-1"
    case sha256 = "SHA-256"

    /// RFC 5802 §2.2 H(str).
    public func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        }
    }

    /// RFC 5802 §2.2 HMAC(key, str).
    public func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        }
    }
}

/// What the server stores for a SCRAM user (RFC 5802 §3): never the password, and not enough to log in as the user.
public struct SCRAMCredentials: Sendable, Equatable {
    public var iterations: Int
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// RFC 5802 §3: ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey),
    /// ServerKey = HMAC(SaltedPassword, "Server Key"). `saltedPassword` is Hi(password, salt, i) (PBKDF2).
    public init(hash: SCRAMHash, saltedPassword: [UInt8], salt: [UInt8], iterations: Int) {
        let clientKey = hash.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.init(
            iterations: iterations, salt: salt, storedKey: hash.hash(clientKey),
            serverKey: hash.hmac(key: saltedPassword, Array("Server Key".utf8)))
    }
}

/// Why a SCRAM exchange failed; carries no client data, so it is safe to log.
public enum SCRAMFailure: Error, Sendable, Equatable {
    /// The message does not follow RFC 5802 §7's grammar (or uses a mandatory extension `m=`).
    case malformed
    /// The gs2 header asks for channel binding the server does not offer, or says "y" although it does
    /// (RFC 5802 §6: a downgrade), or `c=` does not match the header and the binding data.
    case channelBindingMismatch
    /// `r=` in the final message is not the combined nonce.
    case nonceMismatch
    /// An authorization identity other than the user (Aerie has no master users).
    case authorizationRefused
    /// The client proof is wrong: the password (or the exchange) is not the one stored.
    case invalidProof
}

/// RFC 5802 §7 `client-first-message`, parsed.
public struct SCRAMClientFirst: Sendable, Equatable {
    /// The gs2 header exactly as sent (`n,,`, `y,,`, `p=tls-exporter,,`), for `c=` in the final message.
    public var gs2Header: [UInt8]
    /// `p=NAME`'s NAME, nil for "n"/"y".
    public var channelBindingName: String?
    /// The client said "y": it supports channel binding but thinks the server does not.
    public var clientSupportsBinding: Bool
    public var authorizationID: String
    public var user: String
    public var clientNonce: String
    /// `client-first-message-bare`, part of AuthMessage.
    public var bare: [UInt8]

    /// Longest message accepted; real ones are well under 1 KB.
    public static let maxLength = 4096

    // client-first-message = gs2-header client-first-message-bare
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    public static func parse(_ message: [UInt8]) throws(SCRAMFailure) -> SCRAMClientFirst {
        guard message.count <= maxLength, String(validating: message, as: UTF8.self) != nil, !message.contains(0)
        else { throw .malformed }
        let comma = UInt8(ascii: ",")
        let fields = message.split(separator: comma, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else { throw .malformed }
        let flag = String(decoding: fields[0], as: UTF8.self)
        var bindingName: String?
        var supports = false
        switch flag {
        case "n": break
        case "y": supports = true
        default:
            // cb-name = 1*(ALPHA / DIGIT / "." / "-")
            guard flag.hasPrefix("p="), flag.count > 2,
                flag.dropFirst(2).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") })
            else { throw .malformed }
            bindingName = String(flag.dropFirst(2))
        }
        var authzid = ""
        if !fields[1].isEmpty {
            guard fields[1].starts(with: "a=".utf8) else { throw .malformed }
            authzid = try saslName(fields[1].dropFirst(2))
        }
        let bare = Array(fields[2])
        let attributes = bare.split(separator: comma, omittingEmptySubsequences: false)
        // RFC 5802 §5.1: a server that does not understand a mandatory extension (m=) fails.
        guard attributes.count >= 2, attributes[0].starts(with: "n=".utf8), attributes[1].starts(with: "r=".utf8)
        else { throw .malformed }
        let user = try saslName(attributes[0].dropFirst(2))
        let nonce = attributes[1].dropFirst(2)
        guard !nonce.isEmpty, nonce.allSatisfy(isPrintable) else { throw .malformed }
        for extensionField in attributes.dropFirst(2) {
            guard extensionField.count >= 2, extensionField[extensionField.startIndex + 1] == UInt8(ascii: "="),
                isAttributeName(extensionField[extensionField.startIndex])
            else { throw .malformed }
        }
        return SCRAMClientFirst(
            gs2Header: Array(fields[0]) + [comma] + Array(fields[1]) + [comma], channelBindingName: bindingName,
            clientSupportsBinding: supports, authorizationID: authzid, user: user,
            clientNonce: String(decoding: nonce, as: UTF8.self), bare: bare)
    }

    /// RFC 5802 §7 `saslname`: UTF-8 with "," and "=" written as "=2C" and "=3D"; any other "=" is an error.
    static func saslName(_ bytes: some Collection<UInt8>) throws(SCRAMFailure) -> String {
        var out: [UInt8] = []
        var iterator = Array(bytes)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "=") {
                let escape = String(decoding: iterator.prefix(2), as: UTF8.self)
                iterator = iterator.dropFirst(2)
                switch escape {
                case "2C": out.append(UInt8(ascii: ","))
                case "3D": out.append(UInt8(ascii: "="))
                default: throw .malformed
                }
            } else {
                guard byte != 0, byte != UInt8(ascii: ",") else { throw .malformed }
                out.append(byte)
            }
        }
        guard !out.isEmpty, let text = String(validating: out, as: UTF8.self) else { throw .malformed }
        return text
    }

    /// printable = %x21-2B / %x2D-7E (no comma).
    static func isPrintable(_ byte: UInt8) -> Bool { (0x21...0x7E).contains(byte) && byte != UInt8(ascii: ",") }

    static func isAttributeName(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

/// The server side of one SCRAM exchange after the client's first message (RFC 5802 §5, RFC 7677, RFC 9266):
/// it holds the server-first message it sent and checks the client's final message against the stored keys.
public struct SCRAMServerExchange: Sendable {
    public let hash: SCRAMHash
    public let clientFirst: SCRAMClientFirst
    public let credentials: SCRAMCredentials
    /// `client-nonce + server-nonce`.
    public let nonce: String
    /// RFC 5802 §7 `server-first-message`, as sent.
    public let serverFirst: [UInt8]
    /// The channel binding data of this connection (RFC 9266 tls-exporter), nil when the server offers no -PLUS.
    public let channelBinding: [UInt8]?
    /// The channel binding type the server offers with it.
    public static let channelBindingName = "tls-exporter"

    /// Checks the client-first message's gs2 header against what this connection offers (RFC 5802 §6), then
    /// builds the server-first message. `serverNonce` must be fresh random printable text (no comma).
    public init(
        hash: SCRAMHash, clientFirst: SCRAMClientFirst, credentials: SCRAMCredentials, serverNonce: String,
        channelBinding: [UInt8]?, plus: Bool
    ) throws(SCRAMFailure) {
        if plus {
            // -PLUS: the client must bind, with the type we offer, and we must have the data.
            guard channelBinding != nil, clientFirst.channelBindingName == Self.channelBindingName else {
                throw .channelBindingMismatch
            }
        } else {
            // Plain SCRAM: "p=" is wrong (that is -PLUS's job); "y" while the server offers -PLUS is a downgrade.
            guard clientFirst.channelBindingName == nil else { throw .channelBindingMismatch }
            if clientFirst.clientSupportsBinding && channelBinding != nil { throw .channelBindingMismatch }
        }
        if !clientFirst.authorizationID.isEmpty && clientFirst.authorizationID != clientFirst.user {
            throw .authorizationRefused
        }
        guard !serverNonce.isEmpty, serverNonce.utf8.allSatisfy(SCRAMClientFirst.isPrintable),
            credentials.iterations > 0
        else { throw .malformed }
        self.hash = hash
        self.clientFirst = clientFirst
        self.credentials = credentials
        self.nonce = clientFirst.clientNonce + serverNonce
        self.channelBinding = plus ? channelBinding : nil
        self.serverFirst = Array(
            "r=\(nonce),s=\(SASLBase64.encode(credentials.salt)),i=\(credentials.iterations)".utf8)
    }

    // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    // client-final-message = client-final-message-without-proof "," proof
    /// Verifies the client's final message; returns the server-final message (`v=ServerSignature`).
    public func verify(clientFinal message: [UInt8]) throws(SCRAMFailure) -> [UInt8] {
        guard message.count <= SCRAMClientFirst.maxLength, String(validating: message, as: UTF8.self) != nil
        else { throw .malformed }
        let comma = UInt8(ascii: ",")
        guard let proofStart = message.lastIndex(of: comma) else { throw .malformed }
        let withoutProof = Array(message[..<proofStart])
        let proofField = message[(proofStart + 1)...]
        let attributes = withoutProof.split(separator: comma, omittingEmptySubsequences: false)
        guard attributes.count >= 2, attributes[0].starts(with: "c=".utf8), attributes[1].starts(with: "r=".utf8),
            proofField.starts(with: "p=".utf8),
            let binding = SASLBase64.decode(String(decoding: attributes[0].dropFirst(2), as: UTF8.self)),
            let proof = SASLBase64.decode(String(decoding: proofField.dropFirst(2), as: UTF8.self))
        else { throw .malformed }
        // RFC 5802 §7: c= is base64(gs2-header [cbind-data]); cbind-data only when the header says "p=".
        let expectedBinding = clientFirst.gs2Header + (channelBinding ?? [])
        guard SCRAMConstantTime.equals(binding, expectedBinding) else { throw .channelBindingMismatch }
        guard Array(attributes[1].dropFirst(2)) == Array(nonce.utf8) else { throw .nonceMismatch }
        guard proof.count == credentials.storedKey.count else { throw .invalidProof }
        // RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); it must hash to StoredKey.
        let authMessage = clientFirst.bare + [comma] + serverFirst + [comma] + withoutProof
        let clientSignature = hash.hmac(key: credentials.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard SCRAMConstantTime.equals(hash.hash(clientKey), credentials.storedKey) else { throw .invalidProof }
        let serverSignature = hash.hmac(key: credentials.serverKey, authMessage)
        return Array("v=\(SASLBase64.encode(serverSignature))".utf8)
    }

    /// A fresh server nonce: 18 random bytes in base64 (printable, no comma).
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return SASLBase64.encode((0..<18).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

/// Comparison whose time depends only on the lengths.
enum SCRAMConstantTime {
    static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
