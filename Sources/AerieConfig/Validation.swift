/// Turns setting text into a typed value, or an error message that names the setting and lists valid values.
enum Validation {
    static func typed(_ def: SettingDef, _ text: String, key: String? = nil) -> Result<SettingValue, Invalid> {
        let name = key ?? def.name
        let v = text
        switch def.type {
        case .string, .variableString, .file:
            return .success(.string(v))
        case .bool:
            guard let b = ValueParser.bool(v) else { return fail("Invalid boolean for \(name): '\(Lexer.preview(v))' (valid values: yes, no)") }
            return .success(.bool(b))
        case .uint(let max):
            guard let n = ValueParser.uint(v, max: max) else {
                return fail("Invalid number for \(name): '\(Lexer.preview(v))' (use an unsigned integer 0..\(max) or unlimited)")
            }
            return .success(.number(n))
        case .port:
            guard let n = ValueParser.uint(v, max: 65535), v.lowercased() != "unlimited" else {
                return fail("Invalid port for \(name): '\(Lexer.preview(v))' (use 0..65535; 0 disables the listener)")
            }
            return .success(.number(n))
        case .octal:
            guard let n = ValueParser.octal(v), n <= 0o7777 else { return fail("Invalid mode for \(name): '\(Lexer.preview(v))' (use octal, e.g. 0600)") }
            return .success(.mode(n))
        case .size:
            guard let n = ValueParser.size(v) else {
                return fail("Invalid size for \(name): '\(Lexer.preview(v))' (use a number with an optional unit B, k, M, G, T, e.g. 64k)")
            }
            return .success(.size(n))
        case .duration:
            guard let d = ValueParser.duration(v) else {
                return fail("Invalid time interval for \(name): '\(Lexer.preview(v))' (use a number and a unit: ms, secs, mins, hours, days, weeks, e.g. 2 secs)")
            }
            return .success(.duration(d))
        case .enumeration(let allowed):
            guard let canonical = allowed.first(where: { $0.lowercased() == v.lowercased() }) else {
                return fail("Invalid value for \(name): '\(Lexer.preview(v))' (valid values: \(allowed.joined(separator: ", ")))")
            }
            return .success(.string(canonical))
        case .list:
            return .success(.list(splitList(v)))
        case .boolList:
            let names = splitList(v)
            if let bad = names.first(where: { !$0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") } }) {
                return fail("Invalid entry for \(name): '\(Lexer.preview(bad))' (use names separated by spaces, e.g. quota acl)")
            }
            return .success(.boolList(names.map { BoolListEntry(name: $0, enabled: true) }))
        case .cipherList:
            if let problem = CipherList.problem(in: v) { return fail("Invalid ssl cipher list for \(name): \(problem)") }
            return .success(.string(v))
        case .cipherSuites:
            if let problem = CipherList.suitesProblem(in: v) { return fail("Invalid TLS 1.3 cipher suites for \(name): \(problem)") }
            return .success(.string(v))
        case .passwordLogging:
            let parts = v.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
            let modes = ["no": "no", "plain": "plain", "sha1": "sha1", "yes": "plain"]
            guard let mode = parts.first.flatMap({ modes[$0] }),
                  parts.count == 1 || (mode != "no" && ValueParser.uint(parts[1], max: 1024) != nil) else {
                return fail("Invalid value for \(name): '\(Lexer.preview(v))' (valid values: no, plain, sha1, optionally :N to truncate)")
            }
            return .success(.string(parts.count == 2 ? "\(mode):\(parts[1])" : mode))
        }
    }

    struct Invalid: Error { var message: String }

    private static func fail(_ m: String) -> Result<SettingValue, Invalid> { .failure(Invalid(message: m)) }

    /// Lists are separated by spaces and/or commas (`listen = *, ::`, `auth_mechanisms = plain login`).
    static func splitList(_ s: String) -> [String] {
        s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
    }

    /// Levenshtein distance, bounded to keep suggestion cost small for long garbage keys.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8.prefix(64)), y = Array(b.utf8.prefix(64))
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }

    /// The closest known name, if it is close enough to be a plausible typo.
    static func suggestion(for key: String, among names: [String]) -> String? {
        let limit = Swift.max(2, key.count / 4)
        var best: (String, Int)? = nil
        for n in names.sorted() {
            let d = editDistance(key, n)
            if d <= limit, best == nil || d < best!.1 { best = (n, d) }
        }
        return best?.0
    }

    static func unknownMessage(_ key: String, kind: String = "setting", among names: [String]) -> String {
        let shown = Lexer.preview(key)
        if let s = suggestion(for: key, among: names) { return "Unknown \(kind): \(shown) (did you mean \(s)?)" }
        return "Unknown \(kind): \(shown)"
    }
}

/// OpenSSL cipher-string checks done here because NIOSSL aborts on a string OpenSSL rejects.
enum CipherList {
    static let keywords: Set<String> = [
        "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "DEFAULT", "HIGH", "MEDIUM", "LOW", "NULL", "eNULL", "aNULL",
        "kRSA", "aRSA", "RSA", "kDHE", "kEDH", "DH", "DHE", "EDH", "ADH", "kEECDH", "kECDHE", "ECDH", "EECDH", "ECDHE",
        "AECDH", "aDSS", "DSS", "aDH", "aECDSA", "ECDSA", "TLSv1.2", "TLSv1.0", "TLSv1", "SSLv3", "AES128", "AES256", "AES",
        "AESGCM", "AESCCM", "AESCCM8", "ARIA128", "ARIA256", "ARIA", "ARIAGCM", "CAMELLIA128", "CAMELLIA256", "CAMELLIA",
        "CHACHA20", "3DES", "DES", "RC4", "RC2", "IDEA", "SEED", "MD5", "SHA1", "SHA", "SHA256", "SHA384", "PSK", "kPSK",
        "kECDHEPSK", "kDHEPSK", "kRSAPSK", "aPSK", "SUITEB128", "SUITEB128ONLY", "SUITEB192", "EXPORT", "EXP", "kSRP", "SRP",
        "aGOST", "GOST", "CBC",
    ]
    static let namePrefixes = ["ECDHE-", "DHE-", "ECDH-", "EDH-", "ADH-", "AECDH-", "AES", "DES-", "CAMELLIA", "CHACHA20",
                               "PSK-", "RSA-PSK-", "DHE-PSK-", "ECDHE-PSK-", "SRP-", "IDEA-", "SEED-", "RC4-", "NULL-", "ARIA"]

    /// nil when the string is acceptable; otherwise a one-line reason with a hint.
    static func problem(in s: String) -> String? {
        guard !s.isEmpty else { return "empty (leave the setting out to use the default)" }
        guard s.count <= 4096 else { return "too long" }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+!:@=_-., ")
        if let bad = s.first(where: { !allowed.contains($0) }) { return "character '\(Lexer.preview(String(bad)))' is not allowed" }
        for rawToken in s.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "," }) {
            var token = Substring(rawToken)
            if let f = token.first, f == "!" || f == "-" || f == "+" { token = token.dropFirst() }
            if token.hasPrefix("@") {
                if token == "@STRENGTH" || token.hasPrefix("@SECLEVEL=") && token.dropFirst(10).allSatisfy(\.isNumber) && token.count > 10 { continue }
                return "unknown directive '\(Lexer.preview(String(token)))' (valid: @STRENGTH, @SECLEVEL=n)"
            }
            for part in token.split(separator: "+", omittingEmptySubsequences: false) {
                let p = String(part)
                if keywords.contains(p) { continue }
                if namePrefixes.contains(where: { p.hasPrefix($0) }), p.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "-" || $0 == "_" }) { continue }
                return "unknown cipher or keyword '\(Lexer.preview(p))' (e.g. ECDHE-RSA-AES256-GCM-SHA384, HIGH, !aNULL)"
            }
        }
        return nil
    }

    static func suitesProblem(in s: String) -> String? {
        if s.isEmpty { return nil }
        for t in s.split(separator: ":") {
            guard t.hasPrefix("TLS_"), t.count > 4, t.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }) else {
                return "unknown suite '\(Lexer.preview(String(t)))' (e.g. TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256)"
            }
        }
        return nil
    }

    /// Enabled (not negated) weak primitives, for security warnings.
    static func weakParts(in s: String) -> [String] {
        let weak: Set<String> = ["RC4", "DES", "3DES", "NULL", "eNULL", "aNULL", "EXPORT", "EXP", "MD5", "LOW", "ADH", "AECDH", "RC2", "IDEA"]
        var out: [String] = []
        for t in s.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "," }) where !t.hasPrefix("!") && !t.hasPrefix("-") {
            for p in t.split(separator: "+") {
                let name = String(p)
                if weak.contains(name) || name.hasPrefix("RC4-") || name.hasPrefix("DES-") || name.hasPrefix("NULL-") || name.contains("-DES-") {
                    out.append(name)
                }
            }
        }
        return out
    }
}
