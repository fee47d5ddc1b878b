public import AerieConfig

/// `service X { vsz_limit process_limit }` and the `default_*` settings, resolved for one kind of child.
public struct ChildLimits: Sendable, Equatable {
    /// Resident memory in octets above which the master restarts the child; nil: no limit.
    public var memory: UInt64?
    /// Processes of this kind the configuration allows; Aerie runs one per kind, so at least 1 is needed.
    public var processLimit: UInt64

    public init(memory: UInt64? = nil, processLimit: UInt64 = 1) {
        self.memory = memory
        self.processLimit = processLimit
    }

    /// The smallest `vsz_limit` set in one of the kind's Dovecot services, else `default_vsz_limit` if the
    /// configuration sets it; 0 and `unlimited` mean no limit. Its built-in 256M is Dovecot's figure for a process
    /// per user: Aerie's mail service holds every user's sessions, so that default limits nothing. Throws when
    /// `process_limit` (or `default_process_limit`) is 0: the kind's one process could not run.
    public static func resolve(_ kind: ChildKind, settings: AerieSettings) throws -> ChildLimits {
        let services = kind.dovecotServices.compactMap { settings.service(named: $0) }
        let defaultMemory =
            settings.isExplicit("default_vsz_limit") ? settings.size(forKey: "default_vsz_limit") ?? 0 : 0
        let memory = services.compactMap { $0.vszLimit.map(UInt64.init) }.min() ?? defaultMemory
        let defaultProcesses = settings.value(forKey: "default_process_limit").flatMap { UInt64($0) } ?? UInt64.max
        let processes = services.compactMap { $0.processLimit.map(UInt64.init) }.min() ?? defaultProcesses
        if processes == 0 {
            let name = services.first { $0.processLimit == 0 }.map { "service \($0.name) { process_limit }" }
            throw ServerStartError(
                "\(name ?? "default_process_limit") = 0: Aerie runs one \(kind.rawValue) process, so it must be at "
                    + "least 1")
        }
        return ChildLimits(memory: memory == 0 || memory == UInt64.max ? nil : memory, processLimit: processes)
    }

    /// The limits of every kind.
    public static func resolveAll(settings: AerieSettings) throws -> [ChildKind: ChildLimits] {
        var all: [ChildKind: ChildLimits] = [:]
        for kind in ChildKind.allCases { all[kind] = try resolve(kind, settings: settings) }
        return all
    }
}
