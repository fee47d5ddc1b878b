import AerieAuth
import AerieConfig

extension AerieServer {
    /// An `sql` passdb/userdb's driver options: its `query`, `sql_driver` and the `pgsql HOST { parameters { } }`
    /// connection; what the driver would refuse is refused here, at start and by `aerie conf check`.
    static func sqlOptions(
        kind: String, name: String, section: [String: String], settings: AerieSettings
    ) throws -> [String: String] {
        var options = settings.pgsql
        for (key, value) in section { options[key] = value }
        options["sql_driver"] = settings.value(forKey: "sql_driver") ?? ""
        if options["sql_driver"]!.isEmpty { options["sql_driver"] = "pgsql" }
        do { try SQLDriverOptions.check(options: options) } catch {
            throw ServerStartError("\(kind) \(name): \(error)")
        }
        return options
    }
}
