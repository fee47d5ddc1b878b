internal import CSodium
import Synchronization

/// ARGON2ID / ARGON2I through libsodium (Dovecot password-scheme-sodium.c): the raw value is the PHC string
/// `$argon2id$v=19$m=65536,t=3,p=1$salt$hash`. libsodium verifies any parallelism but always hashes with p=1.
struct Argon2Scheme: PasswordScheme {
    let name: String
    let algorithm: Int32
    /// doveadm 2.3.19's defaults: ARGON2ID t=3, m=64 MiB; ARGON2I t=4, m=32 MiB.
    let defaultOpsLimit: Int
    let memoryLimit: Int
    let isWeak = false
    let defaultEncoding = PasswordEncoding.none
    let rawLength = 0

    static let argon2id = Argon2Scheme(
        name: "ARGON2ID", algorithm: crypto_pwhash_ALG_ARGON2ID13, defaultOpsLimit: 3, memoryLimit: 64 << 20)
    static let argon2i = Argon2Scheme(
        name: "ARGON2I", algorithm: crypto_pwhash_ALG_ARGON2I13, defaultOpsLimit: 4, memoryLimit: 32 << 20)

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        // libsodium answers -1 for both "wrong" and "unparseable"; tell them apart up front.
        guard raw.starts(with: "$argon2id$".utf8) || raw.starts(with: "$argon2i$".utf8),
            raw.count < Int(crypto_pwhash_STRBYTES), !raw.contains(0)
        else { return .malformed }
        guard Sodium.ready else { return .malformed }
        let result = (raw + [0]).withUnsafeBufferPointer { stored in
            stored.withMemoryRebound(to: CChar.self) { stored in
                // The trailing NUL keeps the pointer non-nil for an empty password; the length excludes it.
                (password + [0]).withUnsafeBufferPointer { pw in
                    pw.withMemoryRebound(to: CChar.self) { pw in
                        crypto_pwhash_str_verify(stored.baseAddress!, pw.baseAddress!, UInt64(password.count))
                    }
                }
            }
        }
        return result == 0 ? .match : .mismatch
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        let ops = rounds ?? defaultOpsLimit
        guard ops >= Int(crypto_pwhash_OPSLIMIT_MIN), ops <= 1_000 else { throw .invalidRounds(ops) }
        guard Sodium.ready else { throw .libraryFailure("sodium_init") }
        var output = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let result = output.withUnsafeMutableBufferPointer { out in
            (password + [0]).withUnsafeBufferPointer { pw in
                pw.withMemoryRebound(to: CChar.self) { pw in
                    crypto_pwhash_str_alg(
                        out.baseAddress!, pw.baseAddress!, UInt64(password.count), UInt64(ops), memoryLimit, algorithm)
                }
            }
        }
        guard result == 0 else { throw .libraryFailure("crypto_pwhash_str_alg") }
        return output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    }
}

/// sodium_init exactly once per process (it is idempotent but not documented as concurrency-safe before it returns).
enum Sodium {
    private static let state = Mutex<Bool?>(nil)

    static var ready: Bool {
        state.withLock { value in
            if let value { return value }
            let ok = sodium_init() >= 0  // 1 = already initialised, also fine
            value = ok
            return ok
        }
    }
}
