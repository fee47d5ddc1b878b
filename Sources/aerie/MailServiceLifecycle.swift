import AerieConfig
import AerieCore
import AerieObservability
import AerieServer
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The mail service's sessions as a swift-service-lifecycle `Service` (issue 11): a `ServiceGroup` turns SIGTERM and
/// SIGINT (from the master) into its graceful shutdown, after which `run` says BYE to every session and returns
/// once they are gone (or the grace period is over); SIGHUP, forwarded by the master, reloads in between.
///
/// The master (`aerie serve`, `Supervisor`) keeps its own signal handling: it blocks every signal before the first
/// thread exists and takes them with `sigtimedwait` on the main thread, so no thread of its (NIO's, Dispatch's)
/// ever runs a handler or steals a signal, and the children it forks inherit that mask until they set up their own.
/// A `ServiceGroup` traps signals through Dispatch sources on threads of its own, after the process is running:
/// it cannot give that guarantee before `fork`. The login worker keeps its `sigwait` loop for SIGHUP likewise: it
/// runs chrooted under a seccomp filter built from what its threads call, and ends with the master (its parent-death
/// signal), with no graceful shutdown to run.
struct MailSessionsService: Service {
    let server: AerieServer
    /// The configuration file to read again on SIGHUP.
    let config: String?
    let log: LogWriter
    /// A mail process of one uid/gid (`--run-as`): SIGHUP keeps the configuration it started with (the master's
    /// reload retires such a process instead, `MailRouter.retireAll`).
    var keepsConfiguration = false
    /// Chrooted: the log file is out of reach, SIGHUP does not reopen it.
    var chrooted = false

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() { reload() }
        log.info("master", "mail service shutting down")
        await server.shutdown()
    }

    private func reload() {
        if !chrooted { log.reopen() }
        if keepsConfiguration {
            log.info("master", "mail service (pid \(getpid())): SIGHUP: the configuration stays as at its start")
            return
        }
        guard let config else { return }
        do {
            // The file, not the master's snapshot (0600, the master's: this process dropped root). The master signals
            // only after its own load of the file succeeded.
            try server.reload(config: try ConfigLoader.load(path: config))
        } catch let error as ConfigError {
            for diagnostic in error.diagnostics { log.error("config", "Reload failed: \(diagnostic)") }
        } catch {
            log.error("master", "Reload failed, keeping the running configuration: \(error)")
        }
    }

    /// Runs the sessions until SIGTERM or SIGINT, then shuts them down gracefully.
    func runUntilShutdown() async {
        // The group's own messages stay out of the mail log: it has its own format and categories.
        let logger = Logger(label: "aerie.mail-service") { _ in SwiftLogNoOpLogHandler() }
        let group = ServiceGroup(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do { try await group.run() } catch { log.error("master", "mail service: \(error)") }
    }
}
