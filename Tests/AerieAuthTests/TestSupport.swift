import Testing
import Foundation

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/auth")

    struct Vector: Sendable, CustomTestStringConvertible {
        var scheme: String, password: String, hash: String, source: String
        var testDescription: String { "\(scheme) (\(source))" }
    }

    static func vectors() -> [Vector] {
        let text = (try? String(contentsOf: directory.appendingPathComponent("vectors.txt"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return f.count == 4 ? Vector(scheme: f[0], password: f[1], hash: f[2], source: f[3]) : nil
        }
    }

}
