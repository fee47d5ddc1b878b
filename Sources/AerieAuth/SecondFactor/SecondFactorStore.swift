import AerieCore
internal import Crypto
import SASL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One app password: a random secret shown once, stored only as a hash, limited in protocols, networks and time.
public struct AppPassword: Sendable, Equatable {
    public var name: String
    /// `{SHA512-CRYPT}…`: the secret is random and long, so a fast salted hash is as strong as a slow one.
    public var hash: String
    /// `AuthRequest.service` values it may be used for (imap, pop3, lmtp, admin); empty: all.
    public var protocols: [String]
    /// Source networks (CIDR); empty: anywhere.
    public var networks: [String]
    /// Unix time after which it is refused; nil: never.
    public var expires: Int64?
    public var created: Int64

    public init(
        name: String, hash: String, protocols: [String] = [], networks: [String] = [], expires: Int64? = nil,
        created: Int64
    ) {
        self.name = name
        self.hash = hash
        self.protocols = protocols
        self.networks = networks
        self.expires = expires
        self.created = created
    }

    /// Why it may not be used for this request, nil when it may.
    public func refusal(service: String, remoteIP: String, now: Int64) -> String? {
        if let expires, now >= expires { return "expired" }
        if !protocols.isEmpty && !protocols.contains(service) { return "not valid for \(service)" }
        if !networks.isEmpty && !CIDRList(networks).contains(remoteIP) { return "not valid from this network" }
        return nil
    }
}

/// A user's TOTP enrolment; the secret is kept encrypted with the server key (`SecondFactorStore.keyFile`).
public struct TOTPEnrolment: Sendable, Equatable {
    public var algorithm: TOTP.Algorithm
    public var digits: Int
    /// ChaChaPoly sealed box (nonce, ciphertext, tag) of the secret, bound to the user name.
    public var sealedSecret: [UInt8]

    public init(algorithm: TOTP.Algorithm, digits: Int, sealedSecret: [UInt8]) {
        self.algorithm = algorithm
        self.digits = digits
        self.sealedSecret = sealedSecret
    }
}

public struct UserFactors: Sendable, Equatable {
    public var totp: TOTPEnrolment?
    public var appPasswords: [AppPassword] = []

    public init(totp: TOTPEnrolment? = nil, appPasswords: [AppPassword] = []) {
        self.totp = totp
        self.appPasswords = appPasswords
    }
}

/// Second factors on disk: `DIR/factors` (one line per TOTP enrolment or app password, tab-separated) and
/// `DIR/secret.key` (32 random bytes that encrypt TOTP secrets). `aerie adm` writes them (atomic rename, 0640,
/// group of the auth process); the auth process reads them, again whenever the file changes, and remembers the
/// last TOTP step each user spent in `DIR/totp-used` (its own file: `aerie adm` rewrites `factors` whole), so no
/// code is accepted twice, not even after the auth process restarts.
public final class SecondFactorStore: Sendable {
    public let directory: String
    public var factorsFile: String { directory + "/factors" }
    public var keyFile: String { directory + "/secret.key" }
    /// `USER<tab>STEP` lines: the last TOTP step each user spent, written by the auth process.
    public var usedStepsFile: String { directory + "/totp-used" }

    private struct Cache: Sendable {
        var stamp: FileStamp?
        var users: [String: UserFactors] = [:]
        var key: [UInt8]?
        var usedSteps: [String: Int64] = [:]
        var usedStepsLoaded = false
    }

    struct FileStamp: Sendable, Equatable {
        var inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
    }

    private let cache = Mutex(Cache())

    public init(directory: String) {
        self.directory = directory
    }

    // MARK: - Reading (auth process)

    /// The user's factors; empty when none (or the file is missing). Throws when the file exists but cannot be read.
    public func factors(for user: String) throws(SecondFactorError) -> UserFactors {
        let stamp = Self.stamp(factorsFile)
        return try cache.withLock { cache throws(SecondFactorError) -> UserFactors in
            if cache.stamp != stamp || stamp == nil {
                cache.users = try stamp == nil ? [:] : Self.parse(Self.readFile(factorsFile))
                cache.stamp = stamp
            }
            return cache.users[user] ?? UserFactors()
        }
    }

    /// Checks a TOTP code and spends it: the step it matched, and every older one, is refused from then on.
    public func acceptTOTP(
        user: String, enrolment: TOTPEnrolment, code: String, now: Int64
    ) throws(SecondFactorError)
        -> Bool
    {
        let key = try serverKey()
        guard let secret = Self.unseal(enrolment.sealedSecret, key: key, user: user) else { throw .badSecret }
        let totp = TOTP(secret: secret, algorithm: enrolment.algorithm, digits: enrolment.digits)
        return try cache.withLock { cache throws(SecondFactorError) -> Bool in
            if !cache.usedStepsLoaded {
                let path = usedStepsFile
                cache.usedSteps = try Self.stamp(path) == nil ? [:] : Self.parseUsedSteps(Self.readFile(path))
                cache.usedStepsLoaded = true
            }
            guard let step = totp.verify(code, at: now, after: cache.usedSteps[user]) else { return false }
            cache.usedSteps[user] = step
            // Steps older than the verification window can never match again: no need to keep them.
            let oldest = totp.step(at: now) - TOTP.window - 1
            cache.usedSteps = cache.usedSteps.filter { $0.value >= oldest }
            // Spent on disk before the login goes on; if that fails the code is refused (fail closed).
            try Self.replaceFile(usedStepsFile, with: Self.formatUsedSteps(cache.usedSteps))
            return true
        }
    }

    static func parseUsedSteps(_ bytes: [UInt8]) -> [String: Int64] {
        var steps: [String: Int64] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard fields.count == 2, let step = Int64(String(decoding: fields[1], as: UTF8.self)) else { continue }
            let user = String(decoding: fields[0], as: UTF8.self)
            steps[user] = max(step, steps[user] ?? step)
        }
        return steps
    }

    static func formatUsedSteps(_ steps: [String: Int64]) -> [UInt8] {
        Array(steps.sorted { $0.key < $1.key }.map { "\($0.key)\t\($0.value)\n" }.joined().utf8)
    }

    /// Temporary file, fsync, rename, fsync of the directory: the file is either the old one or the new one.
    static func replaceFile(_ path: String, with bytes: [UInt8]) throws(SecondFactorError) {
        let temporary = path + ".tmp.\(getpid())"
        unlink(temporary)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .unwritable(temporary, errno) }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let ok = written == bytes.count && fsync(fd) == 0
        let failure = errno
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let code = ok ? errno : failure
            unlink(temporary)
            throw .unwritable(path, code)
        }
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) {
            let directory = Glibc.open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                fsync(directory)
                close(directory)
            }
        }
    }

    private func serverKey() throws(SecondFactorError) -> [UInt8] {
        if let key = cache.withLock({ $0.key }) { return key }
        let key = try Self.readFile(keyFile)
        guard key.count == 32 else { throw .badSecret }
        cache.withLock { $0.key = key }
        return key
    }

    // MARK: - Format

    static func parse(_ bytes: [UInt8]) throws(SecondFactorError) -> [String: UserFactors] {
        var users: [String: UserFactors] = [:]
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
            let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            switch fields.first {
            case "totp" where fields.count == 5:
                guard let algorithm = TOTP.Algorithm(rawValue: fields[2]), let digits = Int(fields[3]),
                    let sealed = SASLBase64.decode(fields[4])
                else { throw .malformed(line: index + 1) }
                users[fields[1], default: UserFactors()].totp = TOTPEnrolment(
                    algorithm: algorithm, digits: digits, sealedSecret: sealed)
            case "app" where fields.count == 8:
                guard let created = Int64(fields[7]) else { throw .malformed(line: index + 1) }
                let list = { (text: String) in text.isEmpty ? [] : text.split(separator: ",").map(String.init) }
                users[fields[1], default: UserFactors()].appPasswords.append(
                    AppPassword(
                        name: fields[2], hash: fields[3], protocols: list(fields[4]), networks: list(fields[5]),
                        expires: Int64(fields[6]), created: created))
            default:
                throw .malformed(line: index + 1)
            }
        }
        return users
    }

    static func format(_ users: [String: UserFactors]) -> [UInt8] {
        var lines: [String] = []
        for (user, factors) in users.sorted(by: { $0.key < $1.key }) {
            if let totp = factors.totp {
                lines.append(
                    ["totp", user, totp.algorithm.rawValue, String(totp.digits), SASLBase64.encode(totp.sealedSecret)]
                        .joined(separator: "\t"))
            }
            for app in factors.appPasswords {
                lines.append(
                    [
                        "app", user, app.name, app.hash, app.protocols.joined(separator: ","),
                        app.networks.joined(separator: ","), app.expires.map(String.init) ?? "", String(app.created),
                    ].joined(separator: "\t"))
            }
        }
        return Array(lines.map { $0 + "\n" }.joined().utf8)
    }

    /// Names go into a tab-separated line and comma lists: no control character (tab, newline) and no comma.
    public static func validName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 256
            && !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ",") })
    }

    // MARK: - Secrets

    static func seal(_ secret: [UInt8], key: [UInt8], user: String) throws -> [UInt8] {
        let box = try ChaChaPoly.seal(
            secret, using: SymmetricKey(data: key), authenticating: Array("aerie-totp:\(user)".utf8))
        return Array(box.combined)
    }

    static func unseal(_ sealed: [UInt8], key: [UInt8], user: String) -> [UInt8]? {
        guard let box = try? ChaChaPoly.SealedBox(combined: sealed),
            let secret = try? ChaChaPoly.open(
                box, using: SymmetricKey(data: key), authenticating: Array("aerie-totp:\(user)".utf8))
        else { return nil }
        return Array(secret)
    }

    // MARK: - Files

    static func stamp(_ path: String) -> FileStamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStamp(
            inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: info.st_mtim.tv_sec,
            nanoseconds: info.st_mtim.tv_nsec)
    }

    static func readFile(_ path: String) throws(SecondFactorError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .unreadable(path, errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .unreadable(path, errno) }
            if got == 0 { break }
            out += chunk[0..<got]
            // A factors file of 16 MiB is far beyond any real one: refuse rather than hold it.
            guard out.count <= 16 << 20 else { throw .malformed(line: 0) }
        }
        return out
    }
}

public enum SecondFactorError: Error, Sendable, Equatable {
    case unreadable(String, Int32)
    case malformed(line: Int)
    /// `totp-used` cannot be written: `state_dir/auth` must be writable by the auth process.
    case unwritable(String, Int32)
    /// The server key is missing or wrong, or a secret does not decrypt with it.
    case badSecret
}
