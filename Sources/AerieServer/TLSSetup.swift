public import AerieConfig
public import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

public struct TLSSetupError: Error, CustomStringConvertible {
    public init(description: String) { self.description = description }
    public var description: String
}

/// Builds the server's TLS context from `ssl_*` settings, refusing anything below the configured floor.
public enum TLSSetup {
    /// Reads certificate chain and key now: directly (at start, possibly as root), or through the root
    /// `KeyKeeper` after privileges were dropped, so a root-only key can still be reloaded.
    public static func makeContext(
        settings: AerieSettings, keeper: KeyKeeper? = nil, clientCertificates: ClientCertificateVerifier? = nil,
        requireClientCertificate: Bool = false
    ) throws(TLSSetupError) -> NIOSSLContext {
        let certPath = settings.sslServerCertFile
        let keyPath = settings.sslServerKeyFile
        guard !certPath.isEmpty, !keyPath.isEmpty else {
            throw TLSSetupError(
                description:
                    "ssl is enabled but ssl_server_cert_file or ssl_server_key_file is not set (set both, or ssl = no to serve without TLS)"
            )
        }
        let certificateBytes: [UInt8]
        var keyBytes: [UInt8] = []
        var keptKey: NIOSSLPrivateKey?
        do {
            if let keeper, keeper.certificatePath == certPath, keeper.keyPath == keyPath {
                switch try keeper.fetch() {
                case .files(let certificate, let key): (certificateBytes, keyBytes) = (certificate, key)
                case .signedByKeeper(let certificate, let key): (certificateBytes, keptKey) = (certificate, key)
                }
            } else {
                try checkKeyFilePermissions(keyPath)
                certificateBytes = try KeyKeeperProcess.readFile(certPath)
                keyBytes = try KeyKeeperProcess.readFile(keyPath)
            }
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError(description: "\(error)")
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw TLSSetupError(description: "Cannot read certificate ssl_server_cert_file=\(certPath): \(error)")
        }
        guard !chain.isEmpty else {
            throw TLSSetupError(description: "ssl_server_cert_file=\(certPath) holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            if let keptKey {
                key = keptKey
            } else if settings.sslServerKeyPassword.isEmpty {
                key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
            } else {
                let password = Array(settings.sslServerKeyPassword.utf8)
                key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem) { provide in provide(password) }
            }
        } catch {
            throw TLSSetupError(description: "Cannot read private key ssl_server_key_file=\(keyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = minimumVersion(settings.sslMinProtocol)
        if !settings.sslCipherList.isEmpty {
            // AerieConfig validated the list's syntax: NIOSSL traps on a string BoringSSL rejects.
            configuration.cipherSuites = settings.sslCipherList
        }
        if settings.authMechanisms.contains(where: { $0.lowercased() == "scram-sha-256-plus" }) {
            // SCRAM -PLUS's channel binding: the exporter secret of each TLS 1.3 handshake (TLSExporter).
            configuration.keyLogCallback = TLSExporter.record
        }
        if let clientCertificates {
            // The handler's callback verifies (CRLs included); a client without a certificate still connects.
            configuration.certificateVerification = .optionalVerification
            if settings.authSSLRequireClientCert || requireClientCertificate {
                // No certificate, no handshake: so no login at all without one (Preflight allows no other path).
                configuration.certificateVerification = .noHostnameVerification
            }
            configuration.trustRoots = .certificates(clientCertificates.trustRoots)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError(description: "Cannot set up TLS with \(certPath) and \(keyPath): \(error)")
        }
    }

    /// NIOSSL's default floor is TLS 1.0; we always set one explicitly.
    static func minimumVersion(_ version: TLSProtocolVersion) -> TLSVersion {
        switch version {
        case .any, .tls1: .tlsv1
        case .tls1_1: .tlsv11
        case .tls1_2: .tlsv12
        case .tls1_3: .tlsv13
        }
    }

    /// A private key readable by others is a leaked key; refuse to start rather than serve with it.
    static func checkKeyFilePermissions(_ path: String) throws(TLSSetupError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TLSSetupError(
                description: "Cannot read ssl_server_key_file=\(path): \(systemError())")
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw TLSSetupError(
                description:
                    "ssl_server_key_file=\(path) has mode 0\(mode): group or others may read it. Run: chmod 0600 \(path)"
            )
        }
    }
}
