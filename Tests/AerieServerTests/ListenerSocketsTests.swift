import Foundation
import Testing

@testable import AerieServer

#if canImport(Glibc)
    import Glibc
#endif

/// The master binds the listeners and hands the descriptors over (issue 11).
@Suite struct ListenerSocketsTests {
    func boundPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func bindsListensAndSetsTheUnixSocketMode() throws {
        let directory = NSTemporaryDirectory() + "aerie-listeners-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/lmtp"
        let plans = [
            ListenerPlan(kind: .imap, name: "imaps", host: "127.0.0.1", port: 0, implicitTLS: true),
            ListenerPlan(
                kind: .lmtp, name: "lmtp", host: "", port: 0, implicitTLS: false,
                unixSocket: .init(path: path, mode: 0o660, user: "", group: "")),
        ]
        let fds = try ListenerSockets.bind(plans, socketOwner: nil)
        defer { fds.forEach { close($0) } }
        #expect(fds.count == 2)
        var accepting: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(fds[0], SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) == 0 && accepting == 1)
        #expect(boundPort(fds[0]) > 0)
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o660)
        #expect(fcntl(fds[0], F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func aPortInUseIsAnErrorNamingTheListener() throws {
        let held = try ListenerSockets.bind(
            [ListenerPlan(kind: .imap, name: "imap", host: "127.0.0.1", port: 0, implicitTLS: false)], socketOwner: nil)
        defer { held.forEach { close($0) } }
        let port = boundPort(held[0])
        let again = ListenerPlan(kind: .imap, name: "imap", host: "127.0.0.1", port: port, implicitTLS: false)
        #expect(throws: ServerStartError.self) {
            _ = try ListenerSockets.bind([again], socketOwner: nil, retryFor: .zero)
        }
    }
}
