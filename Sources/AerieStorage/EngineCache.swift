/// One MaildirEngine per mailbox directory in the process, shared by every session and delivery, so opening a
/// mailbox that was open recently costs a few stat calls instead of re-reading its index (Dovecot gets the same from
/// its mmapped index files). Engines still in use are found through weak references; the most recently opened ones
/// are also kept alive so a client that logs in, selects and logs out again finds its mailbox warm.
import Glibc

final class EngineCache: @unchecked Sendable {
    static let shared = EngineCache(keepAlive: 64)

    private struct WeakEngine {
        weak var engine: MaildirEngine?
    }

    private let mutex = PosixMutex()
    private let keepAlive: Int
    private var engines: [String: WeakEngine] = [:]
    /// Most recently used last; strong references.
    private var recent: [MaildirEngine] = []

    init(keepAlive: Int) { self.keepAlive = keepAlive }

    func engine(
        directory: String, indexDirectory: String, configuration: MailStoreConfiguration
    ) -> MaildirEngine {
        let key = indexDirectory + "\0" + directory
        return mutex.run {
            if let engine = engines[key]?.engine, engine.configuration == configuration {
                touch(engine)
                return engine
            }
            let engine = MaildirEngine(
                directory: directory, indexDirectory: indexDirectory, configuration: configuration)
            if engines.count > keepAlive * 4 { engines = engines.filter { $0.value.engine != nil } }
            engines[key] = WeakEngine(engine: engine)
            touch(engine)
            return engine
        }
    }

    /// A deleted or renamed mailbox: the next open starts from disk.
    func forget(directory: String) {
        mutex.run {
            for (key, entry) in engines where entry.engine?.directory == directory || entry.engine == nil {
                engines[key] = nil
            }
            recent.removeAll { $0.directory == directory }
        }
    }

    /// Tests: the mailboxes below `root` start over as in a freshly started process. Only those: tests running in
    /// parallel keep their engines (forgetting one a session holds splits its state, e.g. \Recent, in two).
    func removeAll(under root: String) {
        func inside(_ key: String) -> Bool {
            let directory = key.split(separator: "\0", omittingEmptySubsequences: false).last.map(String.init) ?? key
            return directory == root || directory.hasPrefix(root + "/")
        }
        mutex.run {
            engines = engines.filter { !inside($0.key) }
            recent.removeAll { inside($0.directory) }
        }
    }

    private func touch(_ engine: MaildirEngine) {
        if let position = recent.lastIndex(where: { $0 === engine }) {
            if position == recent.count - 1 { return }
            recent.remove(at: position)
        }
        recent.append(engine)
        if recent.count > keepAlive { recent.removeFirst(recent.count - keepAlive) }
    }
}
