import Glibc
import Foundation

/// A `name [filter] { ... }` section with its statements, includes already spliced in.
struct Block: Sendable {
    var kind: String
    var name: String?
    var loc: SourceLocation
    var entries: [Entry] = []
}

/// One statement inside a block.
indirect enum Entry: Sendable {
    case setting(key: String, value: RawValue, loc: SourceLocation, comment: String?)
    case block(Block)
}

/// Hard limits so a hostile or broken configuration cannot exhaust memory or recurse forever.
enum ConfigLimits {
    static let maxFileSize = 4 * 1024 * 1024
    static let maxNesting = 16
    static let maxIncludes = 256
    static let maxIncludeDepth = 20
    static let maxTotalBytes = 64 * 1024 * 1024
}

/// Reads configuration files (and includes) into one tree of blocks.
struct Parser {
    var fileAccess: Bool
    var diags = DiagnosticSink()
    private var includeCount = 0
    private var totalBytes = 0
    /// What this load read from disk (files, glob results); with `replay` set, the only source it reads.
    var snapshot: ConfigSnapshot
    /// Set: a load of `snapshot` as it was recorded, touching no file.
    let replay: Bool

    init(fileAccess: Bool, replaying: ConfigSnapshot? = nil) {
        self.fileAccess = fileAccess
        self.snapshot = replaying ?? ConfigSnapshot(path: "")
        self.replay = replaying != nil
    }

    /// Parses `text` as the file `path`; `chain` holds the including files, to detect loops.
    mutating func parse(text: String, path: String, depth: Int = 0, nesting: Int = 0, chain: [String] = []) -> [Entry] {
        let (lines, failures) = Lexer.lex(text)
        for f in failures { diags.error(SourceLocation(file: path, line: f.line), f.message) }
        var stack: [Block] = [Block(kind: "", name: nil, loc: SourceLocation(file: path, line: 0))]
        var skipping = 0  // >0 while inside a section that exceeded the nesting limit
        for l in lines {
            let loc = SourceLocation(file: path, line: l.line)
            switch l.kind {
            case .assign(let key, let value):
                guard skipping == 0 else { continue }
                stack[stack.count - 1].entries.append(.setting(key: key, value: value, loc: loc, comment: l.comment))
            case .open(let kind, let name):
                if skipping > 0 { skipping += 1; continue }
                if nesting + stack.count > ConfigLimits.maxNesting {
                    diags.error(loc, "Sections nested deeper than \(ConfigLimits.maxNesting) levels")
                    skipping = 1
                    continue
                }
                stack.append(Block(kind: kind, name: name, loc: loc))
            case .close:
                if skipping > 0 { skipping -= 1; continue }
                guard stack.count > 1 else {
                    diags.error(loc, "Unexpected '}' without a matching section")
                    continue
                }
                let done = stack.removeLast()
                stack[stack.count - 1].entries.append(.block(done))
            case .include(let pattern, let optional):
                guard skipping == 0 else { continue }
                let included = include(pattern, optional: optional, from: path, loc: loc, depth: depth,
                                       nesting: nesting + stack.count - 1, chain: chain + [path])
                stack[stack.count - 1].entries.append(contentsOf: included)
            }
        }
        while stack.count > 1 {
            let open = stack.removeLast()
            diags.error(open.loc, "Missing '}' for section '\(open.kind)\(open.name.map { " " + $0 } ?? "")' opened here")
            stack[stack.count - 1].entries.append(.block(open))
        }
        return stack[0].entries
    }

    private mutating func include(_ pattern: String, optional: Bool, from path: String, loc: SourceLocation,
                                  depth: Int, nesting: Int, chain: [String]) -> [Entry] {
        let directive = optional ? "!include_try" : "!include"
        guard fileAccess else {
            if !optional { diags.error(loc, "\(directive) \(pattern): file access is disabled for this load") }
            return []
        }
        guard depth < ConfigLimits.maxIncludeDepth else {
            diags.error(loc, "\(directive) \(pattern): includes nested deeper than \(ConfigLimits.maxIncludeDepth) levels (include loop?)")
            return []
        }
        let full = Self.resolve(pattern, relativeTo: path)
        let files: [String]
        if Self.hasGlob(full) {
            files = replay ? snapshot.globs[full] ?? [] : Self.glob(full)  // matching nothing is fine, as in Dovecot
            if !replay { snapshot.globs[full] = files }
        } else if replay ? snapshot.files[full] != nil : FileManager.default.fileExists(atPath: full) {
            files = [full]
        } else {
            if !optional { diags.error(loc, "\(directive) \(pattern): No such file or directory") }
            return []
        }
        var out: [Entry] = []
        for file in files {
            includeCount += 1
            guard includeCount <= ConfigLimits.maxIncludes else {
                diags.error(loc, "\(directive) \(pattern): more than \(ConfigLimits.maxIncludes) included files")
                return out
            }
            let canonical = Self.canonical(file)
            if chain.map(Self.canonical).contains(canonical) {
                diags.error(loc, "\(directive) \(pattern): include loop (\(file) is already being read)")
                continue
            }
            switch readFile(file) {
            case .success(let text):
                out += parse(text: text, path: file, depth: depth + 1, nesting: nesting, chain: chain)
            case .failure(let message):
                if !(optional && message.hasSuffix("No such file or directory")) { diags.error(loc, "\(directive) \(file): \(message)") }
            }
        }
        return out
    }

    enum ReadResult { case success(String), failure(String) }

    /// Reads a whole file within the size limits; failures are messages for a diagnostic.
    mutating func readFile(_ path: String) -> ReadResult {
        guard fileAccess else { return .failure("file access is disabled for this load") }
        if replay { return snapshot.files[path].map { .success($0) } ?? .failure("No such file or directory") }
        let result = readFromDisk(path)
        if case .success(let text) = result { snapshot.files[path] = text }
        return result
    }

    private mutating func readFromDisk(_ path: String) -> ReadResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return .failure("No such file or directory") }
        if isDir.boolValue { return .failure("Is a directory") }
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attrs[.size] as? NSNumber)?.intValue else { return .failure("Permission denied or unreadable") }
        guard size <= ConfigLimits.maxFileSize else { return .failure("File too large (\(size) bytes, limit \(ConfigLimits.maxFileSize))") }
        totalBytes += size
        guard totalBytes <= ConfigLimits.maxTotalBytes else { return .failure("Configuration too large in total (limit \(ConfigLimits.maxTotalBytes) bytes)") }
        guard let data = FileManager.default.contents(atPath: path) else { return .failure("Permission denied or unreadable") }
        guard data.count <= ConfigLimits.maxFileSize else { return .failure("File too large (limit \(ConfigLimits.maxFileSize) bytes)") }
        guard let text = String(data: data, encoding: .utf8) else { return .failure("Not valid UTF-8") }
        return .success(text)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// Relative paths are relative to the including file's directory.
    static func resolve(_ p: String, relativeTo file: String) -> String {
        if p.hasPrefix("/") { return p }
        let dir = directory(of: file)
        return dir == "/" ? "/" + p : dir + "/" + p
    }

    static func hasGlob(_ p: String) -> Bool { p.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

    static func canonical(_ p: String) -> String {
        (p as NSString).resolvingSymlinksInPath
    }

    /// POSIX glob(3), sorted; an empty result is fine.
    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }
}
