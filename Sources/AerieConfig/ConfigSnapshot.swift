public import Foundation

/// The files one load of the configuration read — the main file, its includes, `<file` values — and what its
/// include wildcards matched, as they were then. The master records it for the configuration it runs; a child it
/// starts later loads that (`ConfigLoader.load(snapshot:)`), so a file edited or broken since (a reload the master
/// rejected) changes nothing until a reload succeeds, as Dovecot's config process serves what it loaded.
public struct ConfigSnapshot: Sendable, Codable, Equatable {
    /// The main file.
    public var path: String
    /// Contents by full path.
    public var files: [String: String] = [:]
    /// Full include pattern -> the files it matched (sorted).
    public var globs: [String: [String]] = [:]

    public init(path: String) { self.path = path }

    public func encoded() throws -> Data { try JSONEncoder().encode(self) }

    public static func decode(_ data: Data) throws -> ConfigSnapshot {
        try JSONDecoder().decode(ConfigSnapshot.self, from: data)
    }
}
