// SOCK_* come from <sys/socket.h>, which CAerieSystem includes too: import both so they are found whichever
// module the clang importer gave the header to (a clean build failed with "cannot find SOCK_STREAM" otherwise).
import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// AF_UNIX stream sockets (close-on-exec) for the auth, admin and hand-off sockets: one place that builds the
/// address and connects or binds, so each caller only words its own error.
public enum UnixSocket {
    public enum Failure: Error, Equatable {
        /// The path does not fit `sun_path`.
        case pathTooLong
        /// `socket()`, `connect()` or `bind()` failed with this errno.
        case system(Int32)

        /// strerror's text, or "path too long".
        public var reason: String {
            switch self {
            case .pathTooLong: "path too long"
            case .system(let code): String(cString: strerror(code))
            }
        }
    }

    /// A socket connected to `path`; with `receiveTimeout`, reads give up after it.
    public static func connect(_ path: String, receiveTimeout seconds: Int? = nil) throws(Failure) -> Int32 {
        let fd = try withAddress(path) { fd, address, length in Glibc.connect(fd, address, length) }
        if let seconds {
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        return fd
    }

    /// A socket bound to `path` (not yet listening); the caller unlinks an old one and sets the umask.
    public static func bind(_ path: String) throws(Failure) -> Int32 {
        try withAddress(path) { fd, address, length in Glibc.bind(fd, address, length) }
    }

    private static func withAddress(
        _ path: String, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32
    ) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .pathTooLong }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .system(code)
        }
        return fd
    }
}
