import AerieStorage
import AerieTestSupport
import Foundation
import IMAPSession
import Testing

/// The hierarchy separator clients see (Dovecot's namespace `separator`; `.` by default on Maildir++), while
/// storage names always use `/`.
@Suite final class DotSeparatorTests {
    /// Swift Testing makes one suite instance per test: each test gets its own Maildir, removed after it.
    let root = makeTempDirectory("mail-separator")
    deinit { removeTree(root) }

    func transcript(autoMailboxes: [MailSessionSettings.AutoMailbox] = []) throws -> MailTranscript {
        try MailTranscript(root: root, settings: MailSessionSettings(autoMailboxes: autoMailboxes, separator: "."))
    }

    func isMaildir(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: root + "/" + path + "/cur", isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    @Test func createMakesTheMaildirPlusPlusFolderAndListShowsDots() throws {
        let a = try transcript()
        #expect(try a.send("1 CREATE A").last?.hasPrefix("1 OK") == true)
        #expect(try a.send("2 CREATE A.B").last?.hasPrefix("2 OK") == true)
        #expect(isMaildir(".A.B") && isMaildir(".A"))
        #expect(!FileManager.default.fileExists(atPath: root + "/.A/B"))
        #expect(
            try a.send("3 LIST \"\" *") == [
                "* LIST (\\HasNoChildren) \".\" INBOX", "* LIST (\\HasChildren) \".\" A",
                "* LIST (\\HasNoChildren) \".\" A.B", "3 OK List completed.",
            ])
        #expect(try a.send("4 LIST \"\" \"\"") == ["* LIST (\\Noselect) \".\" \"\"", "4 OK List completed."])
        #expect(try a.send("5 NAMESPACE") == ["* NAMESPACE ((\"\" \".\")) NIL NIL", "5 OK Namespace completed."])
    }

    @Test func percentStopsAtTheDot() throws {
        let a = try transcript()
        _ = try a.send("1 CREATE A.B.C")
        #expect(
            try a.send("2 LIST \"\" %") == [
                "* LIST (\\HasNoChildren) \".\" INBOX", "* LIST (\\HasChildren \\Noselect) \".\" A",
                "2 OK List completed.",
            ])
        #expect(
            try a.send("3 LIST \"\" A.%") == ["* LIST (\\HasChildren \\Noselect) \".\" A.B", "3 OK List completed."])
        // The reference is the client's name too: "A." + "%" is "A.%".
        #expect(
            try a.send("4 LIST A. %") == ["* LIST (\\HasChildren \\Noselect) \".\" A.B", "4 OK List completed."])
        #expect(try a.send("5 LIST \"\" A.%.C") == ["* LIST (\\HasNoChildren) \".\" A.B.C", "5 OK List completed."])
        // `/` is an ordinary character to this client: no name has one.
        #expect(try a.send("6 LIST \"\" A/%") == ["6 OK List completed."])
    }

    @Test func inboxChildren() throws {
        let a = try transcript()
        #expect(try a.send("1 CREATE INBOX.child").last?.hasPrefix("1 OK") == true)
        #expect(isMaildir(".INBOX.child"))
        #expect(
            try a.send("2 LIST \"\" inbox.*") == ["* LIST (\\HasNoChildren) \".\" INBOX.child", "2 OK List completed."])
        #expect(try a.send("3 SELECT INBOX.child").last == "3 OK [READ-WRITE] Select completed.")
    }

    @Test func renameStatusAppendAndSubscriptions() throws {
        let a = try transcript()
        _ = try a.send("1 CREATE Projects.2024")
        #expect(try a.send("2 RENAME Projects.2024 Projects.2025") == ["2 OK Rename completed."])
        #expect(isMaildir(".Projects.2025") && !isMaildir(".Projects.2024"))
        #expect(try a.send("3 APPEND Projects.2025 {17+}\r\nSubject: one\r\n\r\nx").last?.hasPrefix("3 OK") == true)
        #expect(
            try a.send("4 STATUS Projects.2025 (MESSAGES)") == [
                "* STATUS Projects.2025 (MESSAGES 1)", "4 OK Status completed.",
            ])
        #expect(try a.send("5 SUBSCRIBE Projects.2025") == ["5 OK Subscribe completed."])
        #expect(try a.send("6 LSUB \"\" *") == ["* LSUB () \".\" Projects.2025", "6 OK Lsub completed."])
        #expect(
            try a.send("7 LIST (SUBSCRIBED) \"\" Projects.% RETURN (STATUS (MESSAGES))") == [
                "* LIST (\\HasNoChildren \\Subscribed) \".\" Projects.2025",
                "* STATUS Projects.2025 (MESSAGES 1)", "7 OK List completed.",
            ])
        #expect(try a.send("8 DELETE Projects.2025") == ["8 OK Delete completed."])
        #expect(
            try a.send("9 LIST (SUBSCRIBED) \"\" *") == [
                "* LIST (\\NonExistent \\Subscribed) \".\" Projects.2025", "9 OK List completed.",
            ])
    }

    @Test func aNameWithASlashIsRefused() throws {
        let a = try transcript()
        // Dovecot's words for Maildir++.
        let refused = "NO [CANNOT] Invalid mailbox name: Name must not have '/' characters"
        #expect(try a.send("1 CREATE X/Y") == ["1 \(refused)"])
        #expect(try a.send("2 CREATE \"X.Y/Z\"") == ["2 \(refused)"])
        #expect(try a.send("3 SELECT X/Y") == ["3 \(refused)"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".X") } == [])
        #expect(try a.send("4 LIST \"\" *") == ["* LIST (\\HasNoChildren) \".\" INBOX", "4 OK List completed."])
    }

    @Test func configuredMailboxesAreWrittenWithTheSeparator() throws {
        let a = try transcript(autoMailboxes: [
            .init(name: "Archive.2024", specialUse: ["\\Archive"], auto: "subscribe"),
            .init(name: "Bad/Name", specialUse: ["\\Junk"], auto: "create"),
        ])
        a.session.prepareAutoMailboxes()
        #expect(isMaildir(".Archive.2024"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(".Bad") } == [])
        #expect(
            try a.send("1 LIST \"\" Archive*") == [
                "* LIST (\\HasChildren \\Noselect) \".\" Archive",
                "* LIST (\\HasNoChildren \\Archive) \".\" Archive.2024", "1 OK List completed.",
            ])
        #expect(try a.send("2 LSUB \"\" *") == ["* LSUB () \".\" Archive.2024", "2 OK Lsub completed."])
    }

    @Test func fsLayoutWithADotSeparator() throws {
        let a = try MailTranscript(root: root, settings: MailSessionSettings(separator: "."), layout: .fs)
        #expect(try a.send("1 CREATE A.B").last?.hasPrefix("1 OK") == true)
        #expect(isMaildir("A/B"))
        #expect(try a.send("2 LIST \"\" A.*") == ["* LIST (\\HasNoChildren) \".\" A.B", "2 OK List completed."])
    }

    /// A directory `Old.Lists` (made by another program) reads as "Old" › "Lists", which leads to `Old/Lists`: as in
    /// Dovecot it is listed \Noselect under that name and cannot be opened or deleted, so its mail stays where it is.
    @Test func fsLayoutDirectoryWithADotInItsName() throws {
        let a = try MailTranscript(root: root, settings: MailSessionSettings(separator: "."), layout: .fs)
        for sub in ["cur", "new", "tmp"] {
            try FileManager.default.createDirectory(
                atPath: root + "/Old.Lists/" + sub, withIntermediateDirectories: true)
        }
        #expect(
            try a.send("1 LIST \"\" *") == [
                "* LIST (\\HasNoChildren) \".\" INBOX", "* LIST (\\HasChildren \\Noselect) \".\" Old",
                "* LIST (\\HasNoChildren \\Noselect) \".\" Old.Lists", "1 OK List completed.",
            ])
        #expect(try a.send("2 SELECT Old.Lists").last?.hasPrefix("2 NO ") == true)
        #expect(try a.send("3 DELETE Old.Lists").last?.hasPrefix("3 NO ") == true)
        #expect(isMaildir("Old.Lists"))
        // `/` is the directory separator here, and no part of a name (Dovecot's words for LAYOUT=fs).
        #expect(try a.send("4 CREATE Old/Lists") == ["4 NO [CANNOT] Character not allowed in mailbox name: '/'"])
    }
}

/// With `separator = /` (MailSessionSettings' own default) names are what storage keeps.
@Suite struct SlashSeparatorTests {
    @Test func everythingAsBefore() throws {
        let root = makeTempDirectory("mail")
        defer { removeTree(root) }
        let a = try MailTranscript(root: root)
        #expect(try a.send("1 CREATE A/B").last?.hasPrefix("1 OK") == true)
        #expect(FileManager.default.fileExists(atPath: root + "/.A.B/cur"))
        #expect(
            try a.send("2 LIST \"\" %") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* LIST (\\HasChildren \\Noselect) \"/\" A",
                "2 OK List completed.",
            ])
        #expect(try a.send("3 LIST \"\" A/%") == ["* LIST (\\HasNoChildren) \"/\" A/B", "3 OK List completed."])
        #expect(try a.send("4 RENAME A/B A/C") == ["4 OK Rename completed."])
        #expect(try a.send("5 STATUS A/C (MESSAGES)") == ["* STATUS A/C (MESSAGES 0)", "5 OK Status completed."])
        #expect(try a.send("6 NAMESPACE") == ["* NAMESPACE ((\"\" \"/\")) NIL NIL", "6 OK Namespace completed."])
        #expect(try a.send("7 LIST \"\" \"\"") == ["* LIST (\\Noselect) \"/\" \"\"", "7 OK List completed."])
        // Maildir++ keeps levels apart with dots, so a dot can't be part of a name here.
        #expect(try a.send("8 CREATE X.Y") == ["8 NO [CANNOT] Invalid mailbox name."])
    }
}
