public import AerieConfig
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where the master keeps the configuration it runs (`ConfigSnapshot`) for the children that load it themselves:
/// `base_dir/aerie-config.snapshot`, 0600 and the master's own (it holds `<file` secrets), replaced by a rename on
/// each reload that succeeds. A reload the master rejects leaves it, so a child restarted meanwhile runs the
/// master's configuration and not the file that failed (issue 11).
public enum ConfigSnapshotFile {
    public static func path(baseDir: String) -> String { baseDir + "/aerie-config.snapshot" }

    /// The master's snapshot, set once it is written at the start: `childArguments` names it to every child.
    static let running = Mutex<String?>(nil)

    /// The master, once it wrote its snapshot at `path`: every child started from now on loads it.
    public static func startPassing(_ path: String) { running.withLock { $0 = path } }

    /// `-c FILE`, and `--config-snapshot FILE` when the master keeps one: what a child is started with.
    public static func childArguments(_ configPath: String?) -> [String] {
        (configPath.map { ["-c", $0] } ?? []) + (running.withLock { $0 }.map { ["--config-snapshot", $0] } ?? [])
    }

    /// Records `snapshot` at `path`, whole or not at all.
    public static func write(_ snapshot: ConfigSnapshot, to path: String) throws {
        let data = try snapshot.encoded()
        let temporary = path + ".new"
        unlink(temporary)
        try SecureFile.createExclusive(path: temporary, contents: String(decoding: data, as: UTF8.self), mode: 0o600)
        guard rename(temporary, path) == 0 else {
            let message = systemError()
            unlink(temporary)
            throw ServerStartError("Cannot rename \(temporary) to \(path): \(message)")
        }
    }

    /// The configuration recorded at `path`, loaded without reading any configuration file.
    public static func load(_ path: String) throws -> LoadedConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerStartError("Cannot read the master's configuration snapshot \(path): \(systemError())")
        }
        let snapshot: ConfigSnapshot
        do { snapshot = try ConfigSnapshot.decode(data) } catch {
            throw ServerStartError("The master's configuration snapshot \(path) is damaged: \(error)")
        }
        do { return try ConfigLoader.load(snapshot: snapshot) } catch {
            throw ServerStartError(
                "The master's configuration snapshot \(path) does not load: "
                    + error.diagnostics.map(\.description).joined(separator: "; "))
        }
    }
}
