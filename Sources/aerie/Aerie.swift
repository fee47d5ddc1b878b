import AerieServer
import ArgumentParser
import Dispatch
import Synchronization

@main
struct Aerie: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aerie",
        abstract: "A secure-by-default IMAP server that reads Dovecot's configuration.",
        subcommands: [Serve.self, Conf.self, Pw.self, TLSKeeper.self]
    )
}

/// Where `-c` points when it is not given.
let systemConfigPath = "/etc/aerie/aerie.conf"

/// Runs async work while the calling (main) thread waits, alive.
///
/// `aerie serve` must not hand its main thread to the async runtime: that thread would exit, and a thread that
/// has exited is skipped by setuid(), so /proc and ps would still show the process as root after the drop.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await body()
            result.withLock { $0 = .success(value) }
        } catch {
            result.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}

/// Internal: the root helper `aerie serve` starts to re-read TLS files for reloads. Not for people.
struct TLSKeeper: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tls-keeper", shouldDisplay: false)

    @Argument var certificatePath: String
    @Argument var keyPath: String

    func run() throws {
        KeyKeeperProcess.run(certificatePath: certificatePath, keyPath: keyPath)
    }
}
