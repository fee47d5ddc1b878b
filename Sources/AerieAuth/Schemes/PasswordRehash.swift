/// `auth_rehash_scheme` (Aerie's own, issue 12 item 5): the scheme and cost a stored hash is brought up to after a
/// successful login. `SCHEME [rounds=N]`; without `rounds=` the cost is what `aerie pw` uses by default.
public struct RehashTarget: Sendable, Equatable {
    /// Upper-case registry name (no encoding suffix).
    public let scheme: String
    public let rounds: Int?

    /// nil for an unknown or weak scheme, one without a cost to compare, or a malformed cost.
    public init?(parsing text: String) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first, words.count <= 2 else { return nil }
        let name = first.uppercased()
        guard Self.supported.contains(name) else { return nil }
        var rounds: Int?
        if words.count == 2 {
            guard words[1].hasPrefix("rounds="), let value = Int(words[1].dropFirst(7)), value > 0 else { return nil }
            rounds = value
        }
        self.scheme = name
        self.rounds = rounds
    }

    /// Strong schemes whose cost Aerie can read back from a hash.
    static let supported: Set<String> = ["ARGON2ID", "ARGON2I", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT"]

    /// `{SCHEME}…` for `password` at this target.
    public func hash(_ password: String) throws -> String {
        try PasswordSchemes.hash(password: password, scheme: scheme, rounds: rounds)
    }

    /// Whether `stored` (a verified hash) is weaker than this target: another scheme, or the same with a lower cost
    /// (argon2 m or t, crypt rounds, bcrypt cost). A hash whose cost cannot be read counts as weaker.
    public func isWeaker(_ stored: String, defaultScheme: String = "CRYPT") -> Bool {
        let (name, value) = PasswordSchemes.split(stored: stored, defaultScheme: defaultScheme)
        guard let (found, encoding) = PasswordSchemes.lookup(name), encoding == nil, found.name == scheme else {
            return true
        }
        guard let have = Self.cost(of: Substring(value), scheme: found) else { return true }
        let want = Self.targetCost(found, rounds: rounds)
        return zip(have, want).contains { $0 < $1 }
    }

    /// Cost vector of a target: argon2 (memory KiB, passes); crypt (rounds).
    static func targetCost(_ scheme: any PasswordScheme, rounds: Int?) -> [Int] {
        if let argon = scheme as? Argon2Scheme {
            return [argon.memoryLimit >> 10, rounds ?? argon.defaultOpsLimit]
        }
        if let crypt = scheme as? any CryptFamilyScheme { return [rounds ?? crypt.defaultRounds] }
        return []
    }

    /// Cost vector read from a hash of `scheme`, in `targetCost`'s order.
    static func cost(of value: Substring, scheme: any PasswordScheme) -> [Int]? {
        let parts = value.split(separator: "$", omittingEmptySubsequences: false)
        if scheme is Argon2Scheme {
            // $argon2id$v=19$m=65536,t=3,p=1$salt$hash
            guard parts.count >= 5 else { return nil }
            var memory: Int?, passes: Int?
            for item in parts[3].split(separator: ",") {
                if item.hasPrefix("m=") { memory = Int(item.dropFirst(2)) }
                if item.hasPrefix("t=") { passes = Int(item.dropFirst(2)) }
            }
            guard let memory, let passes else { return nil }
            return [memory, passes]
        }
        guard let crypt = scheme as? any CryptFamilyScheme, parts.count >= 3 else { return nil }
        if crypt is BLFCryptScheme { return Int(parts[2]).map { [$0] } }  // $2y$NN$…
        // $6$[rounds=N$]salt$hash; no rounds= means the SHA-crypt default 5000.
        if parts[2].hasPrefix("rounds=") { return Int(parts[2].dropFirst(7)).map { [$0] } }
        return [5000]
    }
}
