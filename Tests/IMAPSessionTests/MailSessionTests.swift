import AerieAuth
import AerieStorage
import AerieTestSupport
import Foundation
import Glibc
import IMAPProtocol
import IMAPSession
import Testing

/// Mail sessions driven as transcripts over a real temporary Maildir.
struct MailTranscript {
    let session: MailSession
    let output = CollectingOutput()

    /// `rev2`: the session ENABLEs IMAP4rev2 first, so it hears no \Recent (for tests about other things).
    init(
        root: String, settings: MailSessionSettings = MailSessionSettings(), layout: MailboxLayout = .maildirPlusPlus,
        rev2: Bool = false, clock: StorageClock = .system
    ) throws {
        var configuration = MailStoreConfiguration(
            root: root, layout: layout, fsync: false, separator: settings.separator)
        configuration.clock = clock
        let store = try MailStore(configuration: configuration)
        session = MailSession(
            user: AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: root, extraFields: [:]), store: store,
            settings: settings)
        if rev2 { _ = try send("0 ENABLE IMAP4rev2") }
    }

    func send(_ line: String) throws -> [String] {
        output.reset()
        session.execute(try IMAPCommandParser.parse(Array(line.utf8)), output: output)
        return output.lines
    }
}

@Suite struct MailSessionTests {
    @Test func anotherSessionsAppendIsAnnouncedAtNoop() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try b.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        #expect(try a.send("2 SELECT INBOX").contains("* 1 EXISTS"))
        #expect(try b.send("3 SELECT INBOX").contains("* 1 EXISTS"))
        let appended = try b.send("4 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        #expect(appended.last?.hasPrefix("4 OK [APPENDUID ") == true)
        let noop5 = try a.send("5 NOOP")
        #expect(noop5 == ["* 2 EXISTS", "5 OK NOOP completed."])
    }

    @Test func expungeInOneSessionIsAnnouncedInTheOther() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let b = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        _ = try a.send("3 SELECT INBOX")
        _ = try b.send("4 SELECT INBOX")
        _ = try b.send("5 STORE 1 +FLAGS (\\Deleted)")
        #expect(try b.send("6 EXPUNGE") == ["* 1 EXPUNGE", "6 OK Expunge completed."])
        // A claimed both as \Recent at SELECT (RFC 3501 §2.3.2): the count changes with the expunge.
        #expect(try a.send("7 NOOP") == ["* 1 EXPUNGE", "* 1 RECENT", "7 OK NOOP completed."])
    }

    @Test func fetchOfAMissingSequenceNumberIsBadOrEmpty() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        _ = try a.send("1 SELECT INBOX")
        let out = try a.send("2 FETCH 1 FLAGS")
        #expect(out.last?.hasPrefix("2 ") == true)
    }
}

@Suite struct MailSessionQuietTests {
    /// As in a real server: seconds pass between commands, so directory mtimes become trusted. The storage clock is
    /// moved instead of sleeping; the kernel's file-time tick is waited for, so each step's mtimes differ as they
    /// would after real seconds.
    @Test func appendSeenAfterQuietPeriods() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let clock = StorageClock()
        func quietPeriod() {
            func coarse() -> Int64 {
                var ts = timespec()
                clock_gettime(CLOCK_REALTIME_COARSE, &ts)
                return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
            }
            let start = coarse()
            while coarse() == start { sched_yield() }
            clock.advance(by: .milliseconds(1200))
        }
        let a = try MailTranscript(root: root, clock: clock)
        let b = try MailTranscript(root: root, clock: clock)
        _ = try b.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        quietPeriod()
        #expect(try a.send("2 SELECT INBOX").contains("* 1 EXISTS"))
        quietPeriod()
        #expect(try b.send("3 SELECT INBOX").contains("* 1 EXISTS"))
        quietPeriod()
        _ = try b.send("4 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        let noop5 = try a.send("5 NOOP")
        #expect(noop5 == ["* 2 EXISTS", "5 OK NOOP completed."])
        quietPeriod()
        _ = try b.send("6 APPEND INBOX {17+}\r\nSubject: thr\r\n\r\nx")
        quietPeriod()
        let noop7 = try a.send("7 NOOP")
        #expect(noop7 == ["* 3 EXISTS", "7 OK NOOP completed."])
        let c = try MailTranscript(root: root, clock: clock)
        #expect(try c.send("8 SELECT INBOX").contains("* 3 EXISTS"))
    }
}

@Suite struct MailSessionEnableTests {
    @Test func enableTurnsOnWhatTheSessionSupports() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        #expect(try a.send("1 ENABLE CONDSTORE X-UNKNOWN") == ["* ENABLED CONDSTORE", "1 OK Enabled."])
    }
}

/// Big APPEND literals arrive as framer spool events and are written to tmp/ as they come (never whole in memory).
@Suite struct SpooledAppendTests {
    /// Frames `input` with a small spool threshold and drives the session the way the connection does.
    static func run(_ input: [UInt8], on transcript: MailTranscript) throws -> [String] {
        var framer = IMAPCommandFramer(
            limits: IMAPFramingLimits(
                maxLiteralSize: 1 << 20, maxCommandSize: 1 << 22, maxLiteralsPerCommand: 8, spoolThreshold: 64))
        framer.append(input)
        transcript.output.reset()
        while let event = framer.next() {
            switch event {
            case .spoolStart(let offset, _): transcript.session.beginSpool(offset: offset)
            case .spoolData(let bytes): transcript.session.writeSpool(bytes)
            case .unit(let unit): transcript.session.execute(try IMAPCommandParser.parse(unit), output: transcript.output)
            default: break
            }
        }
        return transcript.output.lines
    }

    @Test func spooledMessagesAreStoredByteForByte() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let big = Array(("Subject: big\r\n\r\n" + String(repeating: "0123456789abcdef\r\n", count: 5000)).utf8)
        let small = Array("Subject: small\r\n\r\nx".utf8)
        let input =
            Array("1 APPEND INBOX (\\Flagged) {\(big.count)+}\r\n".utf8) + big
            + Array(" {\(small.count)+}\r\n".utf8) + small + Array(" {\(big.count)+}\r\n".utf8) + big + [13, 10]
        let out = try Self.run(input, on: a)
        #expect(out.last?.hasPrefix("1 OK [APPENDUID ") == true)
        #expect(out.last?.contains(" 1:3]") == true)
        _ = try a.send("2 SELECT INBOX")
        let fetched = try a.send("3 FETCH 1:3 (FLAGS RFC822.SIZE)")
        #expect(fetched.prefix(3) == [
            "* 1 FETCH (FLAGS (\\Flagged \\Recent) RFC822.SIZE \(big.count))",
            "* 2 FETCH (FLAGS (\\Recent) RFC822.SIZE \(small.count))",
            "* 3 FETCH (FLAGS (\\Recent) RFC822.SIZE \(big.count))",
        ])
        a.output.reset()
        a.session.execute(try IMAPCommandParser.parse(Array("4 FETCH 3 BODY.PEEK[]".utf8)), output: a.output)
        #expect(a.output.text.contains("BODY[] {\(big.count)}\r\n" + String(decoding: big, as: UTF8.self) + ")"))
        // Nothing is left behind in tmp/.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }

    @Test func aFailedAppendLeavesNoSpoolBehind() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let big = [UInt8](repeating: 0x61, count: 1000)
        let out = try Self.run(Array("1 APPEND Nonexistent {1000+}\r\n".utf8) + big + [13, 10], on: a)
        #expect(out.last?.hasPrefix("1 NO [TRYCREATE]") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }
}

/// RFC 8474 OBJECTID: MAILBOXID survives RENAME, EMAILID survives COPY and MOVE, THREADID is NIL.
@Suite struct ObjectIDTests {
    static func value(_ name: String, in line: String) -> String? {
        guard let range = line.range(of: name + " (") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != ")" })
    }

    @Test func mailboxAndEmailIDsAreStable() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let created = try a.send("1 CREATE Work")
        let mailboxID = try #require(created.last.flatMap { Self.value("MAILBOXID", in: $0) })
        #expect(mailboxID.count >= 1 && mailboxID.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        #expect(try a.send("2 STATUS Work (MESSAGES MAILBOXID)").first == "* STATUS Work (MESSAGES 0 MAILBOXID (\(mailboxID)))")
        _ = try a.send("3 RENAME Work Projects")
        #expect(try a.send("4 STATUS Projects (MAILBOXID)").first == "* STATUS Projects (MAILBOXID (\(mailboxID)))")
        #expect(try a.send("5 SELECT Projects").contains("* OK [MAILBOXID (\(mailboxID))] Mailbox ID"))

        _ = try a.send("6 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("7 APPEND INBOX {17+}\r\nSubject: two\r\n\r\nx")
        _ = try a.send("8 SELECT INBOX")
        let fetched = try a.send("9 FETCH 1:2 (EMAILID THREADID)")
        let ids = fetched.prefix(2).compactMap { Self.value("EMAILID", in: $0) }
        #expect(ids.count == 2 && ids[0] != ids[1])
        #expect(fetched.first?.contains("THREADID NIL") == true)
        #expect(try a.send("10 SEARCH EMAILID \(ids[1])").first == "* SEARCH 2")

        _ = try a.send("11 COPY 1 Projects")
        _ = try a.send("12 MOVE 2 Projects")
        _ = try a.send("13 SELECT Projects")
        let copied = try a.send("14 UID FETCH 1:* (EMAILID)").compactMap { Self.value("EMAILID", in: $0) }
        #expect(copied == ids)
    }
}

/// Maildir names 26 keywords per mailbox (a-z in file names): a 27th is refused, never dropped silently.
@Suite struct KeywordLimitTests {
    @Test func aTwentySeventhKeywordIsRefusedAndNothingIsLost() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        _ = try a.send("1 APPEND INBOX {17+}\r\nSubject: one\r\n\r\nx")
        _ = try a.send("2 SELECT INBOX")
        let first = (0..<26).map { "k\($0)" }
        #expect(try a.send("3 STORE 1 +FLAGS.SILENT (\(first.joined(separator: " ")))").last == "3 OK Store completed.")
        let refused = try a.send("4 STORE 1 +FLAGS (k0 extra)")
        #expect(refused.last?.hasPrefix("4 NO [LIMIT] ") == true)
        let flags = try a.send("5 FETCH 1 FLAGS").first ?? ""
        #expect(first.allSatisfy { flags.contains(" \($0)") || flags.contains("(\($0)") } && !flags.contains("extra"))
        let appended = try a.send("6 APPEND INBOX (another) {17+}\r\nSubject: two\r\n\r\nx")
        #expect(appended.last?.hasPrefix("6 NO [LIMIT] ") == true)
        #expect(try a.send("7 STATUS INBOX (MESSAGES)").first == "* STATUS INBOX (MESSAGES 1)")
        // RFC 9051 §7.1: with every letter taken, PERMANENTFLAGS no longer offers `\*` (new keywords).
        let permanent = try a.send("8 SELECT INBOX").first { $0.contains("PERMANENTFLAGS") } ?? ""
        #expect(permanent.contains("k25") && !permanent.contains("\\*"))
    }

    @Test func permanentFlagsOfferNewKeywordsWhileALetterIsFree() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        let permanent = try a.send("1 SELECT INBOX").first { $0.contains("PERMANENTFLAGS") } ?? ""
        #expect(permanent.contains("\\*)"))
    }
}

/// A Maildir file name is not trusted for memory: a W= far beyond what CRLF conversion can make is ignored.
@Suite struct ImplausibleFileNameTests {
    @Test func aHugeWSizeDoesNotDriveTheResponse() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        _ = try a.send("1 SELECT INBOX")
        let body = "Subject: w\n\nbody\n"
        let name = "1700000000.M1P1.host,S=\(body.utf8.count),W=9000000000000:2,S"
        try body.write(toFile: root + "/cur/" + name, atomically: false, encoding: .utf8)
        _ = try a.send("2 NOOP")
        a.output.reset()
        a.session.execute(try IMAPCommandParser.parse(Array("3 FETCH 1 BODY.PEEK[]".utf8)), output: a.output)
        #expect(a.output.text.contains("BODY[] {20}\r\nSubject: w\r\n\r\nbody\r\n)"))
    }
}

/// RFC 3516 §4.3: APPEND of a binary literal; the binary part is stored base64-encoded (as Dovecot does), so BODY[1]
/// is 7-bit and BINARY[1] gives back the octets sent.
@Suite struct AppendBinaryTests {
    @Test func binaryPartComesBackFromBinaryFetch() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        let header = "From: user@domain.org\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Transfer-Encoding: binary\r\n\r\n"
        let body: [UInt8] = [0, 0x2D, 0xE4, 0x0D, 0x0A, 0x0D, 0x0A]
        let message = Array(header.utf8) + body
        let unit = Array("1 APPEND INBOX ~{\(message.count)+}\r\n".utf8) + message
        t.output.reset()
        t.session.execute(try IMAPCommandParser.parse(unit), output: t.output)
        #expect(t.output.lines.last?.hasPrefix("1 OK [APPENDUID ") == true)
        _ = try t.send("2 SELECT INBOX")
        #expect(try t.send("3 FETCH 1 (BINARY.SIZE[1] BODY.PEEK[1])") == [
            "* 1 FETCH (BINARY.SIZE[1] 7 BODY[1] {12}", "AC3kDQoNCg==)", "3 OK Fetch completed.",
        ])
    }

    /// A binary message over the spool threshold is converted too (read back from its spool file).
    @Test func spooledBinaryMessageIsConverted() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let t = try MailTranscript(root: root)
        let header = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        let body = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        let message = Array(header.utf8) + body
        let input = Array("1 APPEND INBOX ~{\(message.count)+}\r\n".utf8) + message + [13, 10]
        #expect(try SpooledAppendTests.run(input, on: t).last?.hasPrefix("1 OK [APPENDUID ") == true)
        _ = try t.send("2 SELECT INBOX")
        t.output.reset()
        let fetch = try IMAPCommandParser.parse(Array("3 FETCH 1 (BINARY.PEEK[1] BODY.PEEK[1])".utf8))
        t.session.execute(fetch, output: t.output)
        let text = t.output.text
        #expect(text.hasPrefix("* 1 FETCH (BINARY[1] ~{300}\r\n"))
        #expect(text.contains("BODY[1] {410}\r\nAAECAwQF"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/tmp").isEmpty)
    }
}
