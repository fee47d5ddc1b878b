import Crypto
import Foundation
import SwiftASN1
import X509

/// A P-256 certificate for localhost, for the embedded default only; real deployments bring their own.
public enum SelfSignedCertificate {
    /// Writes `key.pem` (0600, created exclusively) and `cert.pem` into `directory`.
    public static func generate(in directory: String, validDays: Int = 825) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName("localhost")
            OrganizationName("Aerie embedded default")
        }
        // No KeyUsage: NIOSSL and some clients reject a self-signed leaf whose KeyUsage lacks keyCertSign.
        let extensions = try Certificate.Extensions {
            SubjectAlternativeNames([
                .dnsName("localhost"),
                .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1]))),
            ])
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(validDays) * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: Certificate.PrivateKey(key))
        try SecureFile.createExclusive(path: directory + "/key.pem", contents: key.pemRepresentation + "\n", mode: 0o600)
        try SecureFile.createExclusive(
            path: directory + "/cert.pem", contents: try certificate.serializeAsPEM().pemString + "\n", mode: 0o644)
    }
}
