import AerieTestSupport
import Foundation
import Testing
@testable import AerieConfig

/// Fixture directory in the source tree (symlinks resolved so sandbox packages find it too).
let fixturesDir: String = {
    let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/config").path
}()

/// A fresh temporary directory holding the given files (relative path → contents); the caller removes it with
/// `removeTree`.
func makeTempDir(_ files: [String: String]) throws -> String {
    let dir = makeTempDirectory("config")
    do {
        for (rel, text) in files {
            let path = dir + "/" + rel
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    } catch {
        removeTree(dir)
        throw error
    }
    return dir
}

/// Loads text that must succeed; records the thrown diagnostics otherwise.
func loadOK(_ text: String, path: String = "/nonexistent/aerie.conf") -> LoadedConfig? {
    do { return try ConfigLoader.load(text: text, path: path) } catch {
        Issue.record("unexpected errors: \(error.description)")
        return nil
    }
}

/// Loads text that must fail; returns the error lines as "FILE:LINE: message".
func loadErrors(_ text: String, path: String = "/nonexistent/aerie.conf") -> [String] {
    do {
        _ = try ConfigLoader.load(text: text, path: path)
        Issue.record("expected an error")
        return []
    } catch {
        return error.diagnostics.filter { $0.severity == .error }.map(\.description)
    }
}

func warningLines(_ c: LoadedConfig?) -> [String] { c?.warnings.map(\.description) ?? [] }

/// Loads text for its syntax only (settings Aerie does not enforce are not refused); must succeed.
func loadSyntaxOK(_ text: String, path: String = "/nonexistent/aerie.conf") -> LoadedConfig? {
    do { return try ConfigLoader.load(text: text, path: path, options: ConfigLoadOptions(checksSupport: false)) } catch {
        Issue.record("unexpected errors: \(error.description)")
        return nil
    }
}
