public import AerieConfig
import Foundation
public import NIOSSL
import SwiftASN1
import X509

/// TLS client certificates (`ssl_server_request_client_cert`): the chain must lead to a CA of `ssl_server_ca_file`,
/// be valid now, and (RFC 5280 §6.3) not be revoked by a CRL of that file; with `ssl_server_require_crl` (the
/// default) every certificate below the root needs a current CRL from its issuer.
public final class ClientCertificateVerifier: Sendable {
    let authorities: [Certificate]
    let revocationLists: [RevocationList]
    let requireCRL: Bool
    /// `auth_ssl_username_from_cert`: the subject attribute (`ssl_server_cert_username_field`) that names the user.
    let usernameAttribute: ASN1ObjectIdentifier?

    init(
        authorities: [Certificate], revocationLists: [RevocationList], requireCRL: Bool,
        usernameAttribute: ASN1ObjectIdentifier? = nil
    ) {
        self.authorities = authorities
        self.revocationLists = revocationLists
        self.requireCRL = requireCRL
        self.usernameAttribute = usernameAttribute
    }

    /// `ssl_server_cert_username_field` values (OpenSSL's long and short names).
    static let usernameFields: [String: ASN1ObjectIdentifier] = [
        "commonName": [2, 5, 4, 3], "CN": [2, 5, 4, 3],
        "x500UniqueIdentifier": [2, 5, 4, 45],
        "emailAddress": [1, 2, 840, 113549, 1, 9, 1],
        "userId": [0, 9, 2342, 19_200_300, 100, 1, 1], "UID": [0, 9, 2342, 19_200_300, 100, 1, 1],
        "serialNumber": [2, 5, 4, 5],
    ]

    /// The user a verified certificate names: the one value of the subject attribute; nil when there is none, or
    /// more than one (ambiguous).
    static func username(_ certificate: Certificate, attribute: ASN1ObjectIdentifier) -> String? {
        let values = certificate.subject.flatMap { $0 }.filter { $0.type == attribute }.map { $0.value }
        guard values.count == 1, let value = values.first else { return nil }
        guard let name = String(value), !name.isEmpty,
            !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else {
            return nil
        }
        return name
    }

    func username(_ peer: NIOSSLCertificate) -> String? {
        guard let usernameAttribute, let der = try? peer.toDERBytes(),
            let certificate = try? Certificate(derEncoded: der)
        else { return nil }
        return Self.username(certificate, attribute: usernameAttribute)
    }

    /// Reads `ssl_server_ca_file`: the CA certificates followed by their CRLs, PEM (as Dovecot's).
    public static func load(settings: AerieSettings) throws(TLSSetupError) -> ClientCertificateVerifier? {
        guard settings.sslServerRequestClientCert else { return nil }
        let path = settings.sslServerCAFile
        guard !path.isEmpty else {
            throw TLSSetupError(
                description:
                    "ssl_server_request_client_cert = yes needs ssl_server_ca_file (the client CA and its CRL)")
        }
        let text: String
        do {
            text = String(decoding: try KeyKeeperProcess.readFile(path), as: UTF8.self)
        } catch {
            throw TLSSetupError(description: "Cannot read ssl_server_ca_file=\(path): \(error)")
        }
        do {
            var attribute: ASN1ObjectIdentifier?
            if settings.authSSLUsernameFromCert {
                guard let oid = usernameFields[settings.sslServerCertUsernameField] else {
                    let known = usernameFields.keys.sorted().joined(separator: " ")
                    throw TLSSetupError(
                        description: "ssl_server_cert_username_field = \(settings.sslServerCertUsernameField) is not "
                            + "supported (supported: \(known))")
                }
                attribute = oid
            }
            let verifier = try parse(pem: text, requireCRL: settings.sslServerRequireCRL, usernameAttribute: attribute)
            guard !verifier.authorities.isEmpty else {
                throw TLSSetupError(description: "ssl_server_ca_file=\(path) holds no PEM CERTIFICATE")
            }
            return verifier
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError(description: "Cannot parse ssl_server_ca_file=\(path): \(error)")
        }
    }

    static func parse(pem: String, requireCRL: Bool, usernameAttribute: ASN1ObjectIdentifier? = nil) throws
        -> ClientCertificateVerifier
    {
        var authorities: [Certificate] = []
        var lists: [RevocationList] = []
        for document in try PEMDocument.parseMultiple(pemString: pem) {
            switch document.discriminator {
            case "CERTIFICATE": authorities.append(try Certificate(derEncoded: document.derBytes))
            case "X509 CRL": lists.append(try RevocationList(derEncoded: document.derBytes))
            default: continue
            }
        }
        return ClientCertificateVerifier(
            authorities: authorities, revocationLists: lists, requireCRL: requireCRL,
            usernameAttribute: usernameAttribute)
    }

    /// The CAs as NIOSSL trust roots (what the CertificateRequest names).
    var trustRoots: [NIOSSLCertificate] {
        authorities.compactMap { certificate in
            var serializer = DER.Serializer()
            guard (try? serializer.serialize(certificate)) != nil else { return nil }
            return try? NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
        }
    }

    /// The validated chain, leaf first; nil when the client's chain does not verify.
    func verify(presented: [Certificate], now: Date = Date()) async -> [Certificate]? {
        guard let leaf = presented.first else { return nil }
        var verifier = Verifier(rootCertificates: CertificateStore(authorities)) {
            RFC5280Policy()
            RevocationPolicy(lists: revocationLists, requireCRL: requireCRL, now: now)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(presented.dropFirst()))
        guard case .validCertificate(let chain) = result else { return nil }
        return Array(chain)
    }

    /// A TLS handler that verifies a client certificate, if the client presents one, with `verify`.
    public func serverHandler(context: NIOSSLContext) -> NIOSSLServerHandler {
        NIOSSLServerHandler(context: context) { presented, promise in
            let certificates = presented.compactMap { try? Certificate(derEncoded: (try? $0.toDERBytes()) ?? []) }
            guard certificates.count == presented.count else {
                promise.succeed(.failed)
                return
            }
            Task {
                let chain = await self.verify(presented: certificates)
                promise.succeed(chain == nil ? .failed : .certificateVerified)
            }
        }
    }
}

extension TLSSetup {
    /// The TLS handler for one connection: with client-certificate verification when it is configured.
    public static func serverHandler(context: NIOSSLContext, clientCertificates: ClientCertificateVerifier?)
        -> NIOSSLServerHandler
    {
        clientCertificates?.serverHandler(context: context) ?? NIOSSLServerHandler(context: context)
    }
}

/// RFC 5280 §6.3: a certificate whose serial an issuer's CRL lists is revoked; the CRL must be signed by the issuer.
struct RevocationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []
    let lists: [RevocationList]
    let requireCRL: Bool
    let now: Date

    mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let certificates = Array(chain)
        for index in certificates.indices.dropLast() {
            let certificate = certificates[index]
            let issuer = certificates[index + 1]
            let crls = lists.filter { $0.issuer == certificate.issuer && $0.isSigned(by: issuer) }
            if crls.isEmpty && requireCRL {
                return .failsToMeetPolicy(reason: "no CRL for issuer \(certificate.issuer)")
            }
            for crl in crls {
                if crl.revoked.contains(certificate.serialNumber) {
                    return .failsToMeetPolicy(reason: "certificate \(certificate.serialNumber) is revoked")
                }
                if requireCRL, let next = crl.nextUpdate, next < now {
                    return .failsToMeetPolicy(reason: "the CRL of \(certificate.issuer) has expired")
                }
            }
        }
        return .meetsPolicy
    }
}

/// RFC 5280 §5.1 CertificateList: what revocation needs (issuer, nextUpdate, revoked serials) and the signature.
struct RevocationList: Sendable {
    var issuer: DistinguishedName
    var nextUpdate: Date?
    var revoked: Set<Certificate.SerialNumber>
    var signedBytes: ArraySlice<UInt8>
    var algorithm: Certificate.SignatureAlgorithm?
    var signature: ASN1BitString

    init(derEncoded bytes: [UInt8]) throws {
        let root = try DER.parse(bytes)
        var tbs: ASN1Node?
        var algorithmOID: ASN1ObjectIdentifier?
        var signatureBits: ASN1BitString?
        try DER.sequence(root, identifier: .sequence) { nodes in
            tbs = nodes.next()
            guard let algorithmNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "CRL algorithm") }
            algorithmOID = try DER.sequence(algorithmNode, identifier: .sequence) { fields in
                let oid = try ASN1ObjectIdentifier(derEncoded: &fields)
                while fields.next() != nil {}
                return oid
            }
            signatureBits = try ASN1BitString(derEncoded: &nodes)
        }
        guard let tbs, let algorithmOID, let signatureBits else { throw ASN1Error.invalidASN1Object(reason: "CRL") }
        signedBytes = tbs.encodedBytes
        signature = signatureBits
        algorithm = Self.algorithms[algorithmOID]
        var issuer: DistinguishedName?
        var nextUpdate: Date?
        var revoked = Set<Certificate.SerialNumber>()
        try DER.sequence(tbs, identifier: .sequence) { nodes in
            var node = nodes.next()
            if node?.identifier == .integer { node = nodes.next() }  // version
            // node: the signature AlgorithmIdentifier
            guard let issuerNode = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "CRL issuer") }
            issuer = try DistinguishedName(derEncoded: issuerNode)
            _ = nodes.next()  // thisUpdate
            node = nodes.next()
            if let time = node, time.identifier == .utcTime || time.identifier == .generalizedTime {
                nextUpdate = try Self.date(time)
                node = nodes.next()
            }
            if let entries = node, entries.identifier == .sequence, case .constructed(let list) = entries.content {
                for entry in list {
                    guard case .constructed(let fields) = entry.content, let serial = fields.first(where: { _ in true })
                    else {
                        throw ASN1Error.invalidASN1Object(reason: "CRL entry")
                    }
                    revoked.insert(Certificate.SerialNumber(bytes: try ArraySlice<UInt8>(derEncoded: serial)))
                }
            }
            while nodes.next() != nil {}  // crlExtensions
        }
        guard let issuer else { throw ASN1Error.invalidASN1Object(reason: "CRL issuer") }
        self.issuer = issuer
        self.nextUpdate = nextUpdate
        self.revoked = revoked
    }

    func isSigned(by issuer: Certificate) -> Bool {
        guard let algorithm else { return false }
        return issuer.publicKey.isValidSignature(signature.bytes, for: signedBytes, signatureAlgorithm: algorithm)
    }

    static func date(_ node: ASN1Node) throws -> Date {
        var parts = DateComponents()
        if node.identifier == .utcTime {
            let time = try UTCTime(derEncoded: node)
            (parts.year, parts.month, parts.day) = (time.year, time.month, time.day)
            (parts.hour, parts.minute, parts.second) = (time.hours, time.minutes, time.seconds)
        } else {
            let time = try GeneralizedTime(derEncoded: node)
            (parts.year, parts.month, parts.day) = (time.year, time.month, time.day)
            (parts.hour, parts.minute, parts.second) = (time.hours, time.minutes, time.seconds)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: parts) else { throw ASN1Error.invalidASN1Object(reason: "CRL time") }
        return date
    }

    /// RFC 4055 §5, RFC 5758 §3.2, RFC 8410 §3: the signature algorithms accepted on a CRL (no SHA-1).
    static let algorithms: [ASN1ObjectIdentifier: Certificate.SignatureAlgorithm] = [
        [1, 2, 840, 113549, 1, 1, 11]: .sha256WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 12]: .sha384WithRSAEncryption,
        [1, 2, 840, 113549, 1, 1, 13]: .sha512WithRSAEncryption,
        [1, 2, 840, 10045, 4, 3, 2]: .ecdsaWithSHA256,
        [1, 2, 840, 10045, 4, 3, 3]: .ecdsaWithSHA384,
        [1, 2, 840, 10045, 4, 3, 4]: .ecdsaWithSHA512,
        [1, 3, 101, 112]: .ed25519,
    ]
}
