import AerieCore
import CAerieSystem
import Foundation
import Glibc
import Testing

@testable import AerieServer

/// The master's admin relay (issue 11): the switch it passes to started children, the per-uid processes' side, and
/// the fan-out that names a process that does not answer instead of waiting for it.
@Suite struct MasterAdminTests {
    @Test func switchArgumentsRoundTrip() throws {
        let held = LoginSwitch()
        held.disable("pop3", reason: "Back at 10 = soon")
        let arguments = held.disabledServices.flatMap { ["--login-disabled", "\($0.service)=\($0.reason)"] }
        #expect(arguments == ["--login-disabled", "pop3=Back at 10 = soon"])
        let started = LoginSwitch()
        try started.apply(arguments: arguments.filter { $0 != "--login-disabled" })
        #expect(started.refusal(for: "pop3") == "Back at 10 = soon")
        #expect(started.refusal(for: "imap") == nil)
        #expect(throws: ServerStartError.self) { try started.apply(arguments: ["lmtp=x"]) }
        #expect(throws: ServerStartError.self) { try started.apply(arguments: ["imap=two\nlines"]) }
    }

    @Test func processAnswersOnlyWhoAndKickAndNothingExpired() {
        let executor = AdminExecutor(registry: ConnectionRegistry(), logins: LoginSwitch())
        let who = ProcessAdmin.request(id: 7, expiry: 2_000, words: ["who"])
        #expect(ProcessAdmin.answer(who, executor: executor, now: 1_000).map { String(decoding: $0, as: UTF8.self) }
            == "7\n" + AdminExecutor.whoTable([]))
        #expect(ProcessAdmin.answer(who, executor: executor, now: 2_001) == nil, "queued for a predecessor")
        let kick = ProcessAdmin.request(id: 8, expiry: 2_000, words: ["kick", "all"])
        #expect(ProcessAdmin.answer(kick, executor: executor, now: 0).map { String(decoding: $0, as: UTF8.self) }
            == "8\nkicked 0 connections")
        let disable = ProcessAdmin.request(id: 9, expiry: 2_000, words: ["logins", "disable", "all"])
        #expect(ProcessAdmin.answer(disable, executor: executor, now: 0).map { String(decoding: $0, as: UTF8.self) }
            == "9\nrefused", "the switch is the master's")
    }

    @Test func mergesAnswersAndNamesTheSilentProcess() throws {
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var answering: [Int32] = [-1, -1]
        var silent: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, kind, 0, &answering) == 0 && socketpair(AF_UNIX, kind, 0, &silent) == 0)
        defer { (answering + silent).forEach { close($0) } }
        // The answering process: one kicked session, answered to the request it got.
        let child = answering[1]
        let responder = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            guard let (bytes, _) = DescriptorPassing.receive(child, buffer: &buffer),
                let (id, _) = LoginAdmin.parseRequest(bytes)
            else { return }
            // A late answer to an earlier request first: not counted.
            _ = DescriptorPassing.send(child, LoginAdmin.answer(id: id - 1, text: "kicked 5 connections"), fd: -1)
            _ = DescriptorPassing.send(child, LoginAdmin.answer(id: id, text: "kicked 1 connection"), fd: -1)
        }
        responder.start()
        let text = MasterAdmin.fanOut(
            .kick(.all), words: ["kick", "all"],
            to: [("mail uid=1501 gid=1501", answering[0]), ("mail uid=1502 gid=1502", silent[0])])
        #expect(
            text == "kicked 1 connection\n"
                + "(service(mail uid=1502 gid=1502) did not answer in time: its sessions are not included)")
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(DescriptorPassing.receive(silent[1], buffer: &buffer) != nil, "it was asked")
    }

    /// A process that ended (an idle exit while `adm who all` asks) has no sessions: it is not "did not answer".
    @Test func aProcessThatEndedIsNotNamed() throws {
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var goneBefore: [Int32] = [-1, -1]
        var goneAfter: [Int32] = [-1, -1]
        var answering: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, kind, 0, &goneBefore) == 0 && socketpair(AF_UNIX, kind, 0, &goneAfter) == 0)
        #expect(socketpair(AF_UNIX, kind, 0, &answering) == 0)
        defer { [goneBefore[0], goneAfter[0], answering[0], answering[1]].forEach { close($0) } }
        close(goneBefore[1])
        let (late, child) = (goneAfter[1], answering[1])
        // One ends with the request unread in its socket; the other answers with one session.
        let ending = Thread {
            var poller = pollfd(fd: late, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 10_000)
            close(late)
        }
        let responder = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            guard let (bytes, _) = DescriptorPassing.receive(child, buffer: &buffer),
                let (id, _) = LoginAdmin.parseRequest(bytes)
            else { return }
            let text = AdminExecutor.whoTable([]) + "\ncarol\timap"
            _ = DescriptorPassing.send(child, LoginAdmin.answer(id: id, text: text), fd: -1)
        }
        ending.start()
        responder.start()
        let started = ContinuousClock.now
        let text = MasterAdmin.fanOut(
            .who(all: true), words: ["who", "all"],
            to: [("mail uid=1501 gid=1501", goneBefore[0]), ("mail uid=1502 gid=1502", goneAfter[0]),
                 ("mail uid=1503 gid=1503", answering[0])])
        #expect(text == AdminExecutor.whoTable([]) + "\ncarol\timap")
        #expect(ContinuousClock.now - started < .milliseconds(MasterAdmin.fanOutMilliseconds), "not waited for")
    }

    @Test func mainServiceMergesTheMastersPart() {
        let header = AdminExecutor.whoTable([])
        #expect(
            AdminExecutor.mergeMaster(
                .who(all: false), here: header + "\na\timap", master: header + "\nc\timap\n(note)")
                == header + "\na\timap\nc\timap\n(note)")
        #expect(
            AdminExecutor.mergeMaster(.kick(.all), here: "kicked 1 connection", master: "kicked 2 connections\n(note)")
                == "kicked 3 connections\n(note)")
        #expect(
            AdminExecutor.mergeMaster(.loginsStatus, here: "imap: enabled", master: "imap: disabled (x)")
                == "imap: disabled (x)", "the master's switch is the one in force")
        #expect(
            MasterAdmin.merge(.who(all: true), [header + "\nc\timap", header, header + "\nd\tpop3"])
                == header + "\nc\timap\nd\tpop3")
    }
}
