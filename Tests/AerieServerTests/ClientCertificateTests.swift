import Crypto
import Foundation
import Testing
import X509

@testable import AerieServer

/// Fixtures made with `openssl ca` (P-256, valid until 2126): a CA, `good` (serial 0x1000), `bad` (serial 0x1001,
/// revoked by the CRL).
@Suite struct ClientCertificateTests {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBjzCCATWgAwIBAgIUcgMeDA0J2+iKkUl79O1UX1X5EREwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJRml4dHVyZUNBMCAXDTI2MTIwNzA2MTg1OFoYDzIxMjYxMTEz
        MDYxODU4WjAUMRIwEAYDVQQDDAlGaXh0dXJlQ0EwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAASk0rSnNnnfJeqAUpluv85j/zoXPS2DF3FOZBtqMhj9uG6rQfIG+3AF
        gSjFD5Gvbau019HSbioZzoTq00zVujGJo2MwYTAdBgNVHQ4EFgQUxwpklYUBOZ4r
        3gg0mic3TLawQVowHwYDVR0jBBgwFoAUxwpklYUBOZ4r3gg0mic3TLawQVowDwYD
        VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSAAwRQIg
        YTc/d7S4JOMuaBx9/5ebG7snEhNE9p/g4g8sBGgO3K0CIQDS7w30qLuCXL0vjlzP
        apAG6S5sO4YG8o75nIRcqy+3og==
        -----END CERTIFICATE-----
        """
    static let crlPEM = """
        -----BEGIN X509 CRL-----
        MIHEMGwCAQEwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJRml4dHVyZUNBFw0yNjEy
        MDcwNjE4NThaGA8yMTI2MTExMzA2MTg1OFowFTATAgIQARcNMjYxMjA3MDYxODU4
        WqAOMAwwCgYDVR0UBAMCAQEwCgYIKoZIzj0EAwIDSAAwRQIhAPe3jg8d0aInFXj6
        2LBCoZqKDwTZJG6ELy4dYNc+ylVfAiAAjRkfBgD1ObuxNjWx+vLN/VGIa6AdC359
        4ZVPH9gcJg==
        -----END X509 CRL-----
        """
    static let goodPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBhjCCAS2gAwIBAgICEAAwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJRml4dHVy
        ZUNBMCAXDTI2MTIwNzA2MTg1OFoYDzIxMjYxMTEzMDYxODU4WjAPMQ0wCwYDVQQD
        DARnb29kMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2CaJEd9DgSExTGqfqSX8
        bQWBQqEBqp3zLSdv7XRnvA86dmO3iKssIprfYNJawgGOBWhvoTd2oSz/dve0EX2P
        FKNyMHAwCQYDVR0TBAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYB
        BQUHAwIwHQYDVR0OBBYEFOITMlecMPk0BZ3nxlaodb1dkMXnMB8GA1UdIwQYMBaA
        FMcKZJWFATmeK94INJonN0y2sEFaMAoGCCqGSM49BAMCA0cAMEQCIFkUwGMGWptr
        aNlv0LGRpbss93Rdyy0hOzTgtqE+FhXOAiBOoA+q/F697eqBpDNcWSPqOfbPj23C
        U6OKd+XFxkBaPg==
        -----END CERTIFICATE-----
        """
    static let badPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBhTCCASygAwIBAgICEAEwCgYIKoZIzj0EAwIwFDESMBAGA1UEAwwJRml4dHVy
        ZUNBMCAXDTI2MTIwNzA2MTg1OFoYDzIxMjYxMTEzMDYxODU4WjAOMQwwCgYDVQQD
        DANiYWQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATyCYgnt0hWTywFVUbwWBWA
        9fRL96GmSfSvfHRW4fRCXeU9Boo1bIgEm532roQ9YekujcaY0x8Yqsr/EppkX1D3
        o3IwcDAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEF
        BQcDAjAdBgNVHQ4EFgQUN1zVf0M31Gc7NA9OJu/siQLD3NowHwYDVR0jBBgwFoAU
        xwpklYUBOZ4r3gg0mic3TLawQVowCgYIKoZIzj0EAwIDRwAwRAIgG2p/4ddGI2zU
        eLCkE1H9C41iWa4CGGBArchuckT3rr8CIGNErh5x/lnfoQGQ301olrueEtgyvMrw
        hHxlLlnI/8pY
        -----END CERTIFICATE-----
        """

    func certificate(_ pem: String) throws -> Certificate { try Certificate(pemEncoded: pem) }

    @Test func caFileHoldsCertificatesThenCRLs() throws {
        let verifier = try ClientCertificateVerifier.parse(pem: Self.caPEM + "\n" + Self.crlPEM, requireCRL: true)
        #expect(verifier.authorities.count == 1)
        #expect(verifier.revocationLists.count == 1)
        let crl = try #require(verifier.revocationLists.first)
        #expect(crl.issuer == verifier.authorities[0].subject)
        #expect(crl.isSigned(by: verifier.authorities[0]))
        #expect(crl.revoked == [Certificate.SerialNumber(bytes: [0x10, 0x01])])
        #expect(crl.nextUpdate != nil)
    }

    @Test func revokedCertificateRefused() async throws {
        let verifier = try ClientCertificateVerifier.parse(pem: Self.caPEM + "\n" + Self.crlPEM, requireCRL: true)
        #expect(await verifier.verify(presented: [try certificate(Self.goodPEM)])?.count == 2)
        #expect(await verifier.verify(presented: [try certificate(Self.badPEM)]) == nil)
    }

    /// ssl_server_require_crl: without a CRL from the issuer nothing verifies; with `no`, the chain alone decides.
    @Test func missingCRL() async throws {
        let strict = try ClientCertificateVerifier.parse(pem: Self.caPEM, requireCRL: true)
        #expect(await strict.verify(presented: [try certificate(Self.goodPEM)]) == nil)
        let lax = try ClientCertificateVerifier.parse(pem: Self.caPEM, requireCRL: false)
        #expect(await lax.verify(presented: [try certificate(Self.goodPEM)]) != nil)
        #expect(await lax.verify(presented: [try certificate(Self.badPEM)]) != nil)
    }

    /// A CRL whose signature does not verify with the issuer's key is ignored (so, with require_crl, refused).
    @Test func forgedCRLIgnored() async throws {
        var crl = try ClientCertificateVerifier.parse(pem: Self.caPEM + "\n" + Self.crlPEM, requireCRL: true)
            .revocationLists[0]
        crl.signedBytes[crl.signedBytes.startIndex + 40] ^= 1
        let ca = try certificate(Self.caPEM)
        #expect(!crl.isSigned(by: ca))
        let verifier = ClientCertificateVerifier(authorities: [ca], revocationLists: [crl], requireCRL: true)
        #expect(await verifier.verify(presented: [try certificate(Self.goodPEM)]) == nil)
    }

    /// ssl_server_cert_username_field: the one value of the attribute; none, or two, name nobody.
    @Test func usernameFromSubject() throws {
        let commonName = try #require(ClientCertificateVerifier.usernameFields["commonName"])
        #expect(ClientCertificateVerifier.username(try certificate(Self.goodPEM), attribute: commonName) == "good")
        let email = try #require(ClientCertificateVerifier.usernameFields["emailAddress"])
        #expect(ClientCertificateVerifier.username(try certificate(Self.goodPEM), attribute: email) == nil)
        let key = P256.Signing.PrivateKey()
        let twoNames = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(),
            notValidAfter: Date() + 60, issuer: try DistinguishedName { CommonName("ca") },
            subject: try DistinguishedName {
                CommonName("alice")
                CommonName("bob")
            }, signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key))
        #expect(ClientCertificateVerifier.username(twoNames, attribute: commonName) == nil)
    }

    /// A CRL past its nextUpdate no longer vouches for anything.
    @Test func expiredCRLRefused() async throws {
        let verifier = try ClientCertificateVerifier.parse(pem: Self.caPEM + "\n" + Self.crlPEM, requireCRL: true)
        let later = try #require(verifier.revocationLists[0].nextUpdate).addingTimeInterval(60)
        #expect(await verifier.verify(presented: [try certificate(Self.goodPEM)], now: later) == nil)
    }

    /// `admin_allowed_subjects` names subjects as RFC 4514 writes them: most specific attribute first.
    @Test func adminSubjectIsWrittenAsRFC4514() throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(),
            notValidAfter: Date() + 60, issuer: try DistinguishedName { CommonName("ca") },
            subject: try DistinguishedName {
                CountryName("DE")
                OrganizationName("Example")
                CommonName("ops2")
            }, signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key))
        #expect(AdminTLS.subject(of: certificate) == "CN=ops2,O=Example,C=DE")
    }
}
