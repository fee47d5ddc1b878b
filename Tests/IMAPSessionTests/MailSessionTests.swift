import AerieAuth
import AerieStorage
import Foundation
import Glibc
import IMAPProtocol
import IMAPSession
import Testing

/// Mail sessions driven as transcripts over a real temporary Maildir.
struct MailTranscript {
    let session: MailSession
    let output = CollectingOutput()

    init(root: String) throws {
        let store = try MailStore(configuration: MailStoreConfiguration(root: root, fsync: false))
        session = MailSession(
            user: AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: root, extraFields: [:]), store: store,
            settings: MailSessionSettings())
    }

    func send(_ line: String) throws -> [String] {
        output.reset()
        session.execute(try IMAPCommandParser.parse(Array(line.utf8)), output: output)
        return output.lines
    }
}

func temporaryMaildir() -> String {
    let path = NSTemporaryDirectory() + "aerie-mail-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path + "/Maildir"
}

@Suite struct MailSessionTests {
    @Test func anotherSessionsAppendIsAnnouncedAtNoop() throws {
        let root = temporaryMaildir()
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try b.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        #expect(try a.send("2 SELECT INBOX").contains("* 1 EXISTS"))
        #expect(try b.send("3 SELECT INBOX").contains("* 1 EXISTS"))
        let appended = try b.send("4 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        #expect(appended.last?.hasPrefix("4 OK [APPENDUID ") == true)
        #expect(try a.send("5 NOOP") == ["* 2 EXISTS", "5 OK NOOP completed."])
    }

    @Test func expungeInOneSessionIsAnnouncedInTheOther() throws {
        let root = temporaryMaildir()
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        _ = try a.send("3 SELECT INBOX")
        _ = try b.send("4 SELECT INBOX")
        _ = try b.send("5 STORE 1 +FLAGS (\\Deleted)")
        #expect(try b.send("6 EXPUNGE") == ["* 1 EXPUNGE", "6 OK Expunge completed."])
        #expect(try a.send("7 NOOP") == ["* 1 EXPUNGE", "7 OK NOOP completed."])
    }

    @Test func fetchOfAMissingSequenceNumberIsBadOrEmpty() throws {
        let root = temporaryMaildir()
        let a = try MailTranscript(root: root)
        _ = try a.send("1 SELECT INBOX")
        let out = try a.send("2 FETCH 1 FLAGS")
        #expect(out.last?.hasPrefix("2 ") == true)
    }
}

@Suite struct MailSessionQuietTests {
    /// As in a real server: seconds pass between commands, so directory mtimes become trusted.
    @Test func appendSeenAfterQuietPeriods() throws {
        let root = temporaryMaildir()
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try b.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        usleep(1_200_000)
        #expect(try a.send("2 SELECT INBOX").contains("* 1 EXISTS"))
        usleep(1_200_000)
        #expect(try b.send("3 SELECT INBOX").contains("* 1 EXISTS"))
        usleep(1_200_000)
        _ = try b.send("4 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        #expect(try a.send("5 NOOP") == ["* 2 EXISTS", "5 OK NOOP completed."])
        usleep(1_200_000)
        _ = try b.send("6 APPEND INBOX {17+}\r\nSubject: thr\r\n\r\nx")
        usleep(1_200_000)
        #expect(try a.send("7 NOOP") == ["* 3 EXISTS", "7 OK NOOP completed."])
        let c = try MailTranscript(root: root)
        #expect(try c.send("8 SELECT INBOX").contains("* 3 EXISTS"))
    }
}

@Suite struct MailSessionEnableTests {
    @Test func enableTurnsOnWhatTheSessionSupports() throws {
        let a = try MailTranscript(root: temporaryMaildir())
        #expect(try a.send("1 ENABLE CONDSTORE X-UNKNOWN") == ["* ENABLED CONDSTORE", "1 OK Enabled."])
    }
}
