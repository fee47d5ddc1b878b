public import AerieConfig
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where the master keeps the configuration it runs (`ConfigSnapshot`) for the children that load it themselves:
/// `base_dir/aerie-config.snapshot`, 0600 and the master's own (it holds `<file` secrets), replaced by a rename on
/// each reload that succeeds. A reload the master rejects leaves it, so a child restarted meanwhile runs the
/// master's configuration and not the file that failed (issue 11).
public enum ConfigSnapshotFile {
    public static func path(baseDir: String) -> String { baseDir + "/aerie-config.snapshot" }

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
