import NIOCore

// SOCK_* come from <sys/socket.h>, which CAerieSystem includes too: import both so they are found whichever
// module the clang importer gave the header to (a clean build failed with "cannot find SOCK_STREAM" otherwise).
import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The master binds every listener itself and hands the sockets to the mail service: ports below 1024 work, and
/// while the mail service restarts, new connections wait in the backlog instead of being refused (issue 11).
public enum ListenerSockets {
    /// As NIO's default for the server's listeners.
    static let backlog: Int32 = 256

    /// One listening socket per plan, in plan order. A port still held by a killed predecessor's child is tried
    /// again for up to `retryFor`.
    public static func bind(
        _ plans: [ListenerPlan], socketOwner: ServiceAccount?, retryFor: Duration = .seconds(3)
    ) throws -> [Int32] {
        var fds: [Int32] = []
        do {
            for plan in plans {
                let deadline = ContinuousClock.now + retryFor
                while true {
                    do {
                        fds.append(try bind(plan, socketOwner: socketOwner))
                        break
                    } catch let error as BindError where error.code == EADDRINUSE && ContinuousClock.now < deadline {
                        usleep(50_000)
                    }
                }
            }
        } catch {
            fds.forEach { close($0) }
            if let error = error as? BindError {
                throw ServerStartError("Cannot listen on \(error.plan.description): \(error.message)")
            }
            throw error
        }
        return fds
    }

    struct BindError: Error {
        var plan: ListenerPlan
        var code: Int32
        var message: String
    }

    static func bind(_ plan: ListenerPlan, socketOwner: ServiceAccount?) throws -> Int32 {
        func failure(_ fd: Int32) -> BindError {
            let code = errno
            let error = BindError(plan: plan, code: code, message: String(cString: strerror(code)))
            if fd >= 0 { close(fd) }
            return error
        }
        let address: SocketAddress
        if let socket = plan.unixSocket {
            unlink(socket.path)
            address = try SocketAddress(unixDomainSocketPath: socket.path)
        } else {
            address = try SocketAddress.makeAddressResolvingHost(plan.host, port: plan.port)
        }
        let family = address.protocol.rawValue
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure(-1) }
        var one: Int32 = 1
        if plan.unixSocket == nil {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = address.withSockAddr { pointer, size in Glibc.bind(fd, pointer, socklen_t(size)) }
        guard bound == 0 else { throw failure(fd) }
        guard listen(fd, backlog) == 0 else { throw failure(fd) }
        if let socket = plan.unixSocket {
            do { try socket.applyPermissions(defaultOwner: socketOwner) } catch {
                close(fd)
                throw error
            }
        }
        return fd
    }
}

/// The descriptors the master hands `aerie mail-service`.
public enum MailServiceFDs {
    /// The key worker's sockets (`KeeperSockets.service`), when there is one.
    public static let keeperFiles: Int32 = 3
    public static let keeperSigning: Int32 = 4
    /// One byte written when the service serves (listeners adopted, privileges dropped).
    public static let ready: Int32 = 5
    /// The listening sockets, in listener-plan order.
    public static let firstListener: Int32 = 6
}
