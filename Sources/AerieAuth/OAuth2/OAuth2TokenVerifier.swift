import AsyncHTTPClient
import Foundation
import JWTKit
import NIOCore
import NIOHTTP1
import NIOSSL

/// A verified JWT's payload, every claim kept for `OAuth2ClaimCheck`.
struct OAuth2Payload: JWTPayload {
    var claims: [String: OAuth2JSON]

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: OAuth2JSON].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    /// The claims are checked by `OAuth2ClaimCheck`, with the configured settings.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Checks bearer tokens in the auth process: JWTs locally against the issuer's keys (RFC 7515/7517, keys from the
/// OpenID configuration's `jwks_uri`, fetched again for an unknown `kid` at most once a minute), opaque tokens by
/// RFC 7662 introspection. HTTPS only, certificates verified (`ssl_client_ca_file`); nothing blocks an event loop.
actor OAuth2TokenVerifier {
    enum Outcome: Sendable, Equatable {
        case user(String)
        case refused(OAuth2Refusal)
        /// The issuer could not be asked: a temporary failure, not the client's fault.
        case unavailable(String)
    }

    /// Asymmetric algorithms only (RFC 8725 §3.1): `none` and HMAC with a public key as secret are refused.
    static let algorithms: [String: String] = [
        "RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
        "ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP",
    ]
    static let refetchInterval: Duration = .seconds(60)
    static let maxKeyAge: Duration = .seconds(3600)
    static let timeout: TimeAmount = .seconds(10)
    static let maxBody = 1 << 20

    let settings: OAuth2Settings
    let tls: TLSConfiguration
    private var keys: JWTKeyCollection?
    /// kid → (kty, alg if the issuer pinned one).
    private var keyTypes: [String: (type: String, alg: String?)] = [:]
    private var issuer: String?
    private var lastFetch: ContinuousClock.Instant?
    /// The last fetch an unknown `kid` caused.
    private var lastRefresh: ContinuousClock.Instant?

    init(settings: OAuth2Settings) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if !settings.trustedCAPEM.isEmpty {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(settings.trustedCAPEM.utf8)))
        }
        self.tls = tls
    }

    func verify(token: String, login: String) async -> Outcome {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        if settings.mode == .post || parts.count != 3 {
            guard !settings.introspectionURL.isEmpty else { return .refused(OAuth2Refusal("not a JWT")) }
            return await introspect(token: token, login: login)
        }
        guard let headerBytes = Self.base64URLDecode(parts[0]),
            let header = try? JSONDecoder().decode([String: OAuth2JSON].self, from: Data(headerBytes))
        else { return .refused(OAuth2Refusal("malformed JWT header")) }
        guard case .string(let alg)? = header["alg"], let family = Self.algorithms[alg] else {
            let name = header["alg"]?.text.map { AuthLogFormat.sanitize(String($0.prefix(16))) } ?? "?"
            return .refused(OAuth2Refusal("JWT algorithm '\(name)' is not accepted"))
        }
        // RFC 8725 §3.10: keys come from the issuer's configured JWKS, never from the token itself.
        for name in ["jku", "x5u", "jwk", "x5c"] where header[name] != nil {
            return .refused(OAuth2Refusal("JWT names its own key ('\(name)')"))
        }
        var kid = ""
        switch header["kid"] {
        case .string(let named)? where !named.isEmpty: kid = named
        case nil: break
        default: return .refused(OAuth2Refusal("malformed 'kid'"))
        }
        if keys == nil || lastFetch.map({ ContinuousClock.now - $0 >= Self.maxKeyAge }) ?? true {
            // First use, or keys kept long enough: read them (again); on failure the old ones stay.
            if let problem = await fetchKeys(), keys == nil { return .unavailable(problem) }
        } else if !kid.isEmpty, keyTypes[kid] == nil,
            lastRefresh.map({ ContinuousClock.now - $0 >= Self.refetchInterval }) ?? true
        {
            // A rotated key: read the set again, at most once a minute whatever kids clients make up.
            lastRefresh = .now
            _ = await fetchKeys()
        }
        if kid.isEmpty {
            // RFC 7515 §4.1.4: kid is optional; an issuer with one key need not name it.
            guard keyTypes.count == 1, let only = keyTypes.keys.first else {
                return .refused(OAuth2Refusal("JWT has no 'kid' and the issuer has several keys"))
            }
            kid = only
        }
        guard let keys, let known = keyTypes[kid] else {
            return .refused(OAuth2Refusal("unknown JWT key id '\(AuthLogFormat.sanitize(String(kid.prefix(64))))'"))
        }
        guard known.type == family, known.alg == nil || known.alg == alg else {
            return .refused(OAuth2Refusal("JWT algorithm \(alg) does not fit the \(known.type) key"))
        }
        let payload: OAuth2Payload
        do { payload = try await keys.verify(token, as: OAuth2Payload.self) } catch {
            return .refused(OAuth2Refusal("JWT signature verification failed"))
        }
        let issuers = settings.issuers.isEmpty ? (issuer.map { [$0] } ?? []) : settings.issuers
        guard !issuers.isEmpty else {
            return .unavailable("oauth2_openid_configuration_url is a JWKS, which names no issuer: set oauth2_issuers")
        }
        do {
            let user = try OAuth2ClaimCheck.check(
                payload.claims, settings: settings, expectedIssuers: issuers, login: login,
                now: Date().timeIntervalSince1970)
            return .user(user)
        } catch {
            return .refused(error)
        }
    }

    /// RFC 7662 §2.1: POST `token=…`, with the client's credentials when configured; §2.2: `active` must be true.
    private func introspect(token: String, login: String) async -> Outcome {
        var request = HTTPClientRequest(url: settings.introspectionURL)
        request.method = .POST
        request.tlsConfiguration = tls
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if !settings.clientID.isEmpty {
            let credentials = Self.formEncode(settings.clientID) + ":" + Self.formEncode(settings.clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        }
        request.body = .bytes(ByteBuffer(string: "token=" + Self.formEncode(token) + "&token_type_hint=access_token"))
        let answer: [String: OAuth2JSON]
        switch await fetchJSON(request) {
        case .success(let json): answer = json
        case .failure(let problem): return .unavailable("introspection: \(problem.description)")
        }
        guard case .bool(true)? = answer["active"] else { return .refused(OAuth2Refusal("token is not active")) }
        do {
            let user = try OAuth2ClaimCheck.check(
                answer, settings: settings, expectedIssuers: settings.issuers, login: login,
                now: Date().timeIntervalSince1970, introspected: true)
            return .user(user)
        } catch {
            return .refused(error)
        }
    }

    /// Reads the OpenID configuration (issuer, jwks_uri) and the key set; nil when it worked. The URL may also
    /// name a JWKS itself (RFC 7517 §5, a document with `keys`): then `oauth2_issuers` says whose tokens to take.
    private func fetchKeys() async -> String? {
        lastFetch = .now
        let configuration: [String: OAuth2JSON]
        if settings.isFileURL(settings.openIDConfigurationURL) {
            switch Self.readJSONFile(String(settings.openIDConfigurationURL.dropFirst("file://".count))) {
            case .success(let json): configuration = json
            case .failure(let problem): return "JWKS file: \(problem.description)"
            }
        } else {
            var discovery = HTTPClientRequest(url: settings.openIDConfigurationURL)
            discovery.tlsConfiguration = tls
            switch await fetchJSON(discovery) {
            case .success(let json): configuration = json
            case .failure(let problem): return "OpenID configuration: \(problem.description)"
            }
        }
        let jwks: [String: OAuth2JSON]
        if configuration["keys"] != nil && configuration["jwks_uri"] == nil {
            jwks = configuration
        } else {
            guard case .string(let jwksURI)? = configuration["jwks_uri"], jwksURI.lowercased().hasPrefix("https://")
            else { return "OpenID configuration: no https jwks_uri" }
            if case .string(let iss)? = configuration["issuer"] { issuer = iss }
            var request = HTTPClientRequest(url: jwksURI)
            request.tlsConfiguration = tls
            switch await fetchJSON(request) {
            case .success(let json): jwks = json
            case .failure(let problem): return "JWKS: \(problem.description)"
            }
        }
        guard case .array(let list)? = jwks["keys"] else { return "JWKS: no keys" }
        var usable: [(kid: String, type: String, alg: String?, jwk: JWK)] = []
        for case .object(let key) in list {
            // Signing keys of asymmetric types only: an "oct" key would let HMAC tokens through.
            guard case .string(let kty)? = key["kty"], ["RSA", "EC", "OKP"].contains(kty),
                case .string(let kid)? = key["kid"], key["use"] == nil || key["use"] == .string("sig"),
                let data = try? JSONEncoder().encode(key), let json = String(data: data, encoding: .utf8),
                let jwk = try? JWK(json: json)
            else { continue }
            usable.append((kid, kty, key["alg"]?.text, jwk))
        }
        let collection = JWTKeyCollection()
        var types: [String: (type: String, alg: String?)] = [:]
        for key in usable {
            // Only an issuer's single key may sign tokens that name no kid (jwt-kit's default key).
            guard (try? await collection.add(jwk: key.jwk, isDefault: usable.count == 1)) != nil else { continue }
            types[key.kid] = (key.type, key.alg)
        }
        keys = collection
        keyTypes = types
        return nil
    }

    private struct FetchProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// A local JWKS file (small, public keys only), bounded like an HTTP answer.
    private static func readJSONFile(_ path: String) -> Result<[String: OAuth2JSON], FetchProblem> {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            return .failure(FetchProblem(description: "cannot open \(AuthLogFormat.sanitize(path))"))
        }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maxBody + 1), data.count <= maxBody else {
            return .failure(FetchProblem(description: "unreadable or larger than \(maxBody) bytes"))
        }
        guard let json = try? JSONDecoder().decode([String: OAuth2JSON].self, from: data) else {
            return .failure(FetchProblem(description: "invalid JSON"))
        }
        return .success(json)
    }

    /// One GET or POST answered with a JSON object, within `timeout` for the whole exchange (a stalled body too).
    private func fetchJSON(_ request: HTTPClientRequest) async -> Result<[String: OAuth2JSON], FetchProblem> {
        let limit = Self.timeout
        do {
            let body: ByteBuffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    let response = try await HTTPClient.shared.execute(request, timeout: limit)
                    let body = try await response.body.collect(upTo: Self.maxBody)
                    guard response.status == .ok else {
                        throw FetchProblem(description: "HTTP \(response.status.code)")
                    }
                    return body
                }
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(limit.nanoseconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else {
                    throw FetchProblem(description: "no answer within \(limit.nanoseconds / 1_000_000_000) s")
                }
                return body
            }
            return .success(try JSONDecoder().decode([String: OAuth2JSON].self, from: Data(buffer: body)))
        } catch let problem as FetchProblem {
            return .failure(problem)
        } catch is DecodingError {
            return .failure(FetchProblem(description: "invalid JSON"))
        } catch {
            return .failure(FetchProblem(description: AuthLogFormat.sanitize(String(describing: error))))
        }
    }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    /// application/x-www-form-urlencoded (RFC 6749 Appendix B).
    static func formEncode(_ text: String) -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        var out = ""
        for byte in text.utf8 {
            if unreserved.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded2
            }
        }
        return out
    }
}

extension String {
    fileprivate var leftPadded2: String { count < 2 ? "0" + self : self }
}
