internal import CCrypt

/// Thin wrapper over libxcrypt's reentrant calls; each call gets its own zeroed heap `crypt_data` (~32 KiB, too big for a stack).
enum LibXCrypt {
    /// Bytes of a NUL-terminated C string.
    private static func cString(_ pointer: UnsafePointer<CChar>) -> [UInt8] {
        var bytes: [UInt8] = []
        var cursor = pointer
        while cursor.pointee != 0 {
            bytes.append(UInt8(bitPattern: cursor.pointee))
            cursor += 1
        }
        return bytes
    }

    /// `crypt_rn(phrase, setting)`; nil when libxcrypt refuses the setting (unknown or disabled method, bad salt).
    static func crypt(password: [UInt8], setting: [UInt8]) -> [UInt8]? {
        // A NUL would silently truncate the C string; such passwords never match.
        guard !password.contains(0), !setting.contains(0) else { return nil }
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            // The buffer held the password's derived state: wipe it before freeing.
            data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            data.deallocate()
        }
        let result: [UInt8]? = (password + [0]).withUnsafeBufferPointer { phrase in
            (setting + [0]).withUnsafeBufferPointer { salt in
                phrase.withMemoryRebound(to: CChar.self) { phrase in
                    salt.withMemoryRebound(to: CChar.self) { salt in
                        let out = crypt_rn(phrase.baseAddress, salt.baseAddress, data, Int32(size))
                        return out.map { cString($0) }
                    }
                }
            }
        }
        // libxcrypt signals failure with a string starting with "*" on some paths.
        guard let result, result.first != UInt8(ascii: "*") else { return nil }
        return result
    }

    /// `crypt_gensalt_rn(prefix, count)` with random bytes from the OS; nil prefix means libxcrypt's preferred method.
    static func gensalt(prefix: String?, count: Int) -> [UInt8]? {
        var output = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let ok: Bool = output.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress, outSize = Int32(buffer.count)
            guard let prefix else { return crypt_gensalt_rn(nil, UInt(count), nil, 0, out, outSize) != nil }
            return prefix.withCString { crypt_gensalt_rn($0, UInt(count), nil, 0, out, outSize) != nil }
        }
        guard ok, output[0] != CChar(UInt8(ascii: "*")) else { return nil }
        return output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    }
}

/// A crypt(3)-family scheme: the raw value is the whole crypt string, verified by recomputing it with its own setting.
protocol CryptFamilyScheme: PasswordScheme {
    /// Prefixes (e.g. "$6$") this scheme accepts; empty means any crypt method libxcrypt knows.
    var acceptedPrefixes: [String] { get }
    /// crypt_gensalt prefix and default cost for `hash`.
    var gensaltPrefix: String? { get }
    var defaultRounds: Int { get }
}

extension CryptFamilyScheme {
    var defaultEncoding: PasswordEncoding { .none }
    var rawLength: Int { 0 }

    func verify(password: [UInt8], raw: [UInt8], allowWeak: Bool) -> PasswordCheck {
        guard acceptedPrefixes.isEmpty || acceptedPrefixes.contains(where: { raw.starts(with: $0.utf8) }) else { return .malformed }
        return CryptVerifier.check(password: password, stored: raw)
    }

    func generate(password: [UInt8], rounds: Int?) throws(PasswordHashError) -> [UInt8] {
        guard let setting = LibXCrypt.gensalt(prefix: gensaltPrefix, count: rounds ?? defaultRounds) else {
            throw .invalidRounds(rounds ?? defaultRounds)
        }
        guard let hashed = LibXCrypt.crypt(password: password, setting: setting) else { throw .libraryFailure("crypt_rn") }
        return hashed
    }
}

enum CryptVerifier {
    /// Recomputes with the stored value as setting and compares in constant time.
    static func check(password: [UInt8], stored: [UInt8]) -> PasswordCheck {
        guard !stored.isEmpty else { return .mismatch }
        if password.contains(0) { return .mismatch }
        guard let computed = LibXCrypt.crypt(password: password, setting: stored) else { return .malformed }
        return ConstantTime.equals(computed, stored) ? .match : .mismatch
    }
}
