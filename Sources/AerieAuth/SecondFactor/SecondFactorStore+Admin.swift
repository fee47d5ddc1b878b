import SASL

#if canImport(Glibc)
    import Glibc
#endif

/// What `aerie adm totp …` and `aerie adm app-password …` change. Every write replaces the file whole (temporary
/// file, fsync, rename), mode 0640, group `group` (the auth process's) when given.
extension SecondFactorStore {
    /// Enrols (or re-enrols) a user: a fresh 20-byte secret (RFC 4226 §4 recommends 160 bits). Returns the TOTP
    /// whose URI is shown once; the file keeps the secret only encrypted.
    public func enrollTOTP(user: String, algorithm: TOTP.Algorithm, group: UInt32?) throws -> TOTP {
        let secret = SchemeEncoding.randomBytes(20)
        let key = try ensureKey(group: group)
        let sealed = try Self.seal(secret, key: key, user: user)
        try update(group: group) { users in
            users[user, default: UserFactors()].totp = TOTPEnrolment(
                algorithm: algorithm, digits: 6, sealedSecret: sealed)
        }
        return TOTP(secret: secret, algorithm: algorithm)
    }

    /// False when the user had no TOTP.
    public func disableTOTP(user: String, group: UInt32?) throws -> Bool {
        var had = false
        try update(group: group) { users in
            had = users[user]?.totp != nil
            users[user]?.totp = nil
            if users[user] == UserFactors() { users[user] = nil }
        }
        return had
    }

    /// Adds an app password and returns its secret (24 characters from a 32-letter alphabet: 120 bits), which is
    /// never stored or shown again.
    public func addAppPassword(
        user: String, name: String, protocols: [String], networks: [String], expires: Int64?, now: Int64,
        group: UInt32?
    ) throws -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
        let secret = String(decoding: SchemeEncoding.randomBytes(24).map { alphabet[Int($0 & 31)] }, as: UTF8.self)
        let hash = try PasswordSchemes.hash(password: secret, scheme: "SHA512-CRYPT")
        try update(group: group) { users in
            if users[user]?.appPasswords.contains(where: { $0.name == name }) == true {
                throw SecondFactorAdminError.exists(name)
            }
            users[user, default: UserFactors()].appPasswords.append(
                AppPassword(
                    name: name, hash: hash, protocols: protocols, networks: networks, expires: expires, created: now))
        }
        return secret
    }

    /// False when the user has no app password of that name.
    public func revokeAppPassword(user: String, name: String, group: UInt32?) throws -> Bool {
        var had = false
        try update(group: group) { users in
            let before = users[user]?.appPasswords.count ?? 0
            users[user]?.appPasswords.removeAll { $0.name == name }
            had = (users[user]?.appPasswords.count ?? 0) < before
            if users[user] == UserFactors() { users[user] = nil }
        }
        return had
    }

    /// The stored state as written, for `list` and tests (no secrets: hashes and sealed secrets only).
    public func allFactors() throws -> [String: UserFactors] {
        guard Self.stamp(factorsFile) != nil else { return [:] }
        return try Self.parse(Self.readFile(factorsFile))
    }

    func ensureKey(group: UInt32?) throws -> [UInt8] {
        try makeDirectory(group: group)
        if Self.stamp(keyFile) != nil { return try Self.readFile(keyFile) }
        let key = SchemeEncoding.randomBytes(32)
        try write(key, to: keyFile, group: group, exclusive: true)
        return key
    }

    func update(group: UInt32?, _ change: (inout [String: UserFactors]) throws -> Void) throws {
        try makeDirectory(group: group)
        var users = try allFactors()
        try change(&users)
        try write(Self.format(users), to: factorsFile, group: group, exclusive: false)
    }

    /// The directory, with `group` (the auth process's) allowed to write; for `aerie serve` at start.
    public func prepareDirectory(group: UInt32?) throws { try makeDirectory(group: group) }

    private func makeDirectory(group: UInt32?) throws {
        // state_dir itself, when this is the first thing kept there.
        if let slash = directory.utf8.lastIndex(of: UInt8(ascii: "/")), slash != directory.utf8.startIndex {
            _ = mkdir(String(directory[..<slash]), 0o755)
        }
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            throw SecondFactorAdminError.system("mkdir \(directory)", errno)
        }
        // The auth process writes `totp-used` here: its group may write (an older 0750 directory is fixed too).
        if let group, chown(directory, geteuid(), group) == 0 { _ = chmod(directory, 0o770) }
    }

    private func write(_ bytes: [UInt8], to path: String, group: UInt32?, exclusive: Bool) throws {
        let temporary = exclusive ? path : path + ".tmp.\(getpid())"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw SecondFactorAdminError.system("create \(temporary)", errno) }
        var ok = fchmod(fd, 0o640) == 0
        if let group { ok = ok && fchown(fd, geteuid(), group) == 0 }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        ok = ok && written == bytes.count && fsync(fd) == 0
        let failure = errno
        close(fd)
        guard ok, exclusive || rename(temporary, path) == 0 else {
            unlink(temporary)
            throw SecondFactorAdminError.system("write \(path)", ok ? errno : failure)
        }
    }
}

public enum SecondFactorAdminError: Error, Sendable, Equatable, CustomStringConvertible {
    case exists(String)
    case system(String, Int32)

    public var description: String {
        switch self {
        case .exists(let name): "an app password named \(name) exists already (revoke it first)"
        case .system(let what, let code): "\(what): \(String(cString: strerror(code)))"
        }
    }
}
