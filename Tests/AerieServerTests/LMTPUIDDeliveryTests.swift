import AerieAuth
import AerieConfig
import AerieCore
import CAerieSystem
import Foundation
import LMTPProtocol
import LMTPSession
import Testing

@testable import AerieServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LMTPUIDDeliveryTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
    }

    /// uid 0 is refused whatever first_valid_uid says; 0 as a last_valid_* means no upper bound.
    @Test func uidPolicy() throws {
        let open = LMTPUIDDeliveryMaster.UIDPolicy(try settings("first_valid_uid = 0\nfirst_valid_gid = 0\n"))
        #expect(!open.permits(uid: 0, gid: 100))
        #expect(open.permits(uid: 1, gid: 0))
        let ranged = LMTPUIDDeliveryMaster.UIDPolicy(
            try settings(
                "first_valid_uid = 1000\nlast_valid_uid = 2000\nfirst_valid_gid = 100\nlast_valid_gid = 3000\n"))
        #expect(ranged.permits(uid: 1501, gid: 1501))
        #expect(!ranged.permits(uid: 999, gid: 1501))
        #expect(!ranged.permits(uid: 2001, gid: 1501))
        #expect(!ranged.permits(uid: 1501, gid: 99))
        #expect(!ranged.permits(uid: 1501, gid: 3001))
    }

    /// The worker gets the message read-only and sealed: neither it nor the mail service can change it afterwards.
    @Test func sealedCopyIsReadOnlyAndImmutable() throws {
        let message = Array("Subject: hi\r\n\r\nbody\r\n".utf8)
        let fd = try #require(LMTPUIDDeliveryWire.sealedCopy(of: message))
        defer { close(fd) }
        #expect(LMTPUIDDeliveryWire.readMessage(fd, limit: 1024) == message)
        var byte: UInt8 = 0x41
        #expect(write(fd, &byte, 1) < 0)
        let writable = open("/proc/self/fd/\(fd)", O_RDWR)
        if writable >= 0 {
            defer { close(writable) }
            #expect(write(writable, &byte, 1) < 0)
        }
        #expect(LMTPUIDDeliveryWire.readMessage(fd, limit: message.count - 1) == nil)
    }

    /// The mail user's recipients stay here; the others go to one worker per uid/gid, in RCPT order.
    @Test func recipientsAreGroupedByUIDAndGID() {
        func user(_ uid: UInt32, _ gid: UInt32) -> AuthenticatedUser {
            AuthenticatedUser(user: "u\(uid)", uid: uid, gid: gid, home: "/nonexistent")
        }
        let users = [user(1501, 1501), user(900, 900), user(1502, 1502), user(1501, 1501), user(1501, 1600)]
        let (own, groups) = LMTPUIDDeliveryClient.split(users, ownUID: 900, ownGID: 900)
        #expect(own == [1])
        #expect(groups == [[0, 3], [2], [4]])
    }

    /// A recipient of the mail user whose IMAP sessions are chrooted (mail_chroot, userdb `chroot`, `/./`) is a
    /// worker's too: this unchrooted process would write outside the chroot its IMAP session reads.
    @Test func chrootedRecipientsOfTheMailUserGoToAWorker() throws {
        func user(_ name: String, home: String, chroot: String? = nil) -> AuthenticatedUser {
            AuthenticatedUser(
                user: name, uid: 900, gid: 900, home: home, extraFields: chroot.map { ["chroot": $0] } ?? [:])
        }
        let users = [
            user("plain", home: "/home/plain"), user("dot", home: "/jail/./home/dot"),
            user("field", home: "/home/field", chroot: "/jail"), user("other", home: "/home/other"),
        ]
        var policy = MailRoutePolicy(settings: ConfigLoader.defaults().settings, mainAccount: nil)
        let (own, groups) = LMTPUIDDeliveryClient.split(users, ownUID: 900, ownGID: 900) {
            !policy.placement(of: $0).chroot.isEmpty
        }
        #expect(own == [0, 3])
        #expect(groups == [[1, 2]])
        policy.mailChroot = "/jail"
        let (none, all) = LMTPUIDDeliveryClient.split(users, ownUID: 900, ownGID: 900) {
            !policy.placement(of: $0).chroot.isEmpty
        }
        #expect(none.isEmpty)
        #expect(all == [[0, 1, 2, 3]])
    }

    @Test func wireRoundTrip() throws {
        let request = LMTPUIDDeliveryWire.Request(
            id: 7, uid: 1501, gid: 1501, sender: "s@example.org",
            recipients: [.init(user: "u", address: "u+x@example.org", detail: "x")], trace: nil, sessionID: "abc")
        let bytes = try #require(LMTPUIDDeliveryWire.encode(request))
        #expect(LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Request.self, bytes) == request)
        // The domain types travel as they are (no mirror types): trace, userdb answer, replies.
        let trace = LMTPTrace(heloName: "mx", remoteIP: nil, hostname: "h", isTLS: true, id: "abc")
        let user = AuthenticatedUser(user: "u", uid: 1501, gid: 1501, home: "/home/u", extraFields: ["quota": "1M"])
        let job = LMTPUIDDeliveryWire.Job(
            sender: "s@example.org", recipients: request.recipients, users: [user], trace: trace, sessionID: "abc")
        let jobBytes = try #require(LMTPUIDDeliveryWire.encode(job))
        let decoded = try #require(LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Job.self, jobBytes))
        #expect(decoded.users == [user] && decoded.trace == trace && decoded.recipients == request.recipients)
        let result = LMTPUIDDeliveryWire.Result(id: 7, replies: [LMTPReply(code: 250, enhanced: "2.0.0", "<u> Saved")])
        let resultBytes = try #require(LMTPUIDDeliveryWire.encode(result))
        #expect(LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Result.self, resultBytes) == result)
    }

    /// The master asks the auth process itself and trusts only the name: a recipient whose userdb uid is not the
    /// one the mail service claimed, uid 0, an unknown user and a lookup failure each get their own reply, and no
    /// worker is started for them.
    @Test func masterChecksEveryRecipientWithTheUserdb() throws {
        let path = "/tmp/aerie-uid-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let users: [String: AuthResult] = [
            "moved": .success(AuthenticatedUser(user: "moved", uid: 1600, gid: 1600, home: "/nonexistent")),
            "rooted": .success(AuthenticatedUser(user: "rooted", uid: 0, gid: 0, home: "/nonexistent")),
            "gone": .failure(.unknownUser),
            "flaky": .failure(.temporaryFailure),
        ]
        let server = try FakeAuthServer(path: path, users: users)
        defer { server.stop() }
        let master = try LMTPUIDDeliveryMaster(
            configPath: nil, settings: try settings("first_valid_uid = 1000\n"), authSocketPath: path,
            log: DiscardingLogSink())
        let names = ["moved", "rooted", "gone", "flaky"]
        let request = LMTPUIDDeliveryWire.Request(
            id: 1, uid: 0, gid: 0, sender: "",
            recipients: names.map { .init(user: $0, address: "\($0)@x", detail: nil) },
            trace: nil, sessionID: "s")
        let replies = master.handle(request, message: -1)
        #expect(replies.map(\.code) == [451, 550, 550, 451])
        #expect(replies[0].text.joined().contains("<moved@x>"))
    }
}

/// Answers userdb lookups on a unix socket as the auth process does (AuthWire), one request per connection.
final class FakeAuthServer: @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String, users: [String: AuthResult]) throws {
        unlink(path)
        fd = try UnixSocket.bind(path)
        self.path = path
        guard listen(fd, 16) == 0 else { throw POSIXError(.EIO) }
        let listener = fd
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                var frames = AuthWire.FrameBuffer()
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    if let payload = try? frames.next(), let request = try? AuthWire.decodeRequest(payload),
                        case .lookup(let id, let user) = request
                    {
                        let reply = AuthWire.Reply(id: id, result: users[user] ?? .failure(.unknownUser))
                        if let bytes = try? AuthWire.encode(reply) {
                            _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                        }
                        break
                    }
                    let got = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                    guard got > 0 else { break }
                    frames.append(chunk[..<got])
                }
                close(client)
            }
        }.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}
