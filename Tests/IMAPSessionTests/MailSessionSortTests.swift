import AerieStorage
import AerieTestSupport
import Testing

@testable import IMAPSession

/// SORT and THREAD as a client sees them, over a real temporary Maildir.
@Suite final class MailSessionSortTests {
    /// Swift Testing makes one suite instance per test: each test gets its own Maildir, removed after it.
    let root = makeTempDirectory("mail-sort")
    deinit { removeTree(root) }

    /// Appends a message with an INTERNALDATE; the body is padded so RFC822.SIZE differs per message.
    private func append(_ t: MailTranscript, _ header: String, date: String, padding: Int = 0) throws {
        let message =
            header.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n") + "\r\n\r\nbody"
            + String(repeating: "x", count: padding)
        let out = try t.send("a APPEND INBOX \"\(date)\" {\(message.utf8.count)+}\r\n\(message)")
        #expect(out.last?.hasPrefix("a OK") == true)
    }

    private func mailbox() throws -> MailTranscript {
        let t = try MailTranscript(root: root)
        try append(
            t, "Message-ID: <one@x>\nFrom: Zed <zed@x>\nSubject: hello\nDate: Tue, 3 Jan 2023 10:00:00 +0000",
            date: "05-Jan-2023 00:00:00 +0000", padding: 0)
        try append(
            t,
            "Message-ID: <two@x>\nReferences: <one@x>\nFrom: amy@x\nSubject: Re: hello\n"
                + "Date: Wed, 4 Jan 2023 10:00:00 +0000",
            date: "01-Jan-2023 00:00:00 +0000", padding: 200)
        try append(
            t, "Message-ID: <three@x>\nFrom: Bob <bob@x>\nSubject: news\nDate: Mon, 2 Jan 2023 10:00:00 +0000",
            date: "03-Jan-2023 00:00:00 +0000", padding: 300)
        try append(
            t,
            "Message-ID: <four@x>\nIn-Reply-To: <two@x>\nFrom: carl@x\nSubject: Re: hello\n"
                + "Date: Thu, 5 Jan 2023 10:00:00 +0000",
            date: "02-Jan-2023 00:00:00 +0000", padding: 100)
        _ = try t.send("s SELECT INBOX")
        return t
    }

    @Test func sortAndUIDSort() throws {
        let t = try mailbox()
        #expect(try t.send("1 SORT (REVERSE DATE) UTF-8 ALL") == ["* SORT 4 2 1 3", "1 OK Sort completed."])
        #expect(try t.send("2 SORT (ARRIVAL) US-ASCII ALL") == ["* SORT 2 4 3 1", "2 OK Sort completed."])
        #expect(try t.send("3 SORT (SIZE) UTF-8 ALL") == ["* SORT 1 4 2 3", "3 OK Sort completed."])
        #expect(try t.send("4 SORT (FROM) UTF-8 ALL") == ["* SORT 2 3 4 1", "4 OK Sort completed."])
        #expect(try t.send("5 SORT (DISPLAYFROM) UTF-8 ALL") == ["* SORT 2 3 4 1", "5 OK Sort completed."])
        #expect(try t.send("6 SORT (SUBJECT REVERSE ARRIVAL) UTF-8 ALL") == ["* SORT 1 4 2 3", "6 OK Sort completed."])
        // The search criteria choose the messages: SEARCH's own matching.
        #expect(
            try t.send("7 SORT (DATE) UTF-8 SUBJECT hello NOT FROM carl") == ["* SORT 1 2", "7 OK Sort completed."])
        let uids = try t.send("8 UID FETCH 1:* (UID)").compactMap { line -> String? in
            line.split(separator: " ").last.map { String($0.dropLast()) }
        }.filter { Int($0) != nil }
        #expect(
            try t.send("9 UID SORT (REVERSE DATE) UTF-8 ALL") == [
                "* SORT \(uids[3]) \(uids[1]) \(uids[0]) \(uids[2])", "9 OK Sort completed.",
            ])
        #expect(try t.send("10 SORT (DATE) UTF-8 SUBJECT nothing") == ["* SORT", "10 OK Sort completed."])
    }

    /// RFC 5267 §3.1: MIN and MAX are the first and last message in sort order, not the lowest and highest number, and
    /// ALL keeps the sort order (ranges only where it ascends, §3.2).
    @Test func extendedSortAnswersInESEARCHInSortOrder() throws {
        let t = try mailbox()
        #expect(
            try t.send("1 SORT RETURN (MIN MAX COUNT ALL) (REVERSE DATE) UTF-8 ALL") == [
                "* ESEARCH (TAG \"1\") MIN 4 MAX 3 COUNT 4 ALL 4,2,1,3", "1 OK Sort completed.",
            ])
        // RFC 5267 §3.3: an empty RETURN list means ALL.
        #expect(
            try t.send("2 SORT RETURN () (ARRIVAL) UTF-8 ALL") == [
                "* ESEARCH (TAG \"2\") ALL 2,4,3,1", "2 OK Sort completed.",
            ])
        #expect(
            try t.send("3 SORT RETURN (ALL) (SIZE) UTF-8 ALL") == [
                "* ESEARCH (TAG \"3\") ALL 1,4,2:3", "3 OK Sort completed.",
            ])
        #expect(
            try t.send("4 SORT RETURN (COUNT MIN) (DATE) UTF-8 SUBJECT hello") == [
                "* ESEARCH (TAG \"4\") MIN 1 COUNT 3", "4 OK Sort completed.",
            ])
        // Nothing matched: only COUNT, as RFC 4731 §3.1 asks.
        #expect(
            try t.send("5 SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 SUBJECT nothing") == [
                "* ESEARCH (TAG \"5\") COUNT 0", "5 OK Sort completed.",
            ])
        let uids = try t.send("6 FETCH 1:* (UID)").compactMap { line -> String? in
            line.split(separator: " ").last.map { String($0.dropLast()) }
        }.filter { Int($0) != nil }
        #expect(
            try t.send("7 UID SORT RETURN (MAX MIN) (REVERSE DATE) UTF-8 ALL") == [
                "* ESEARCH (TAG \"7\") UID MIN \(uids[3]) MAX \(uids[2])", "7 OK Sort completed.",
            ])
    }

    /// RFC 5182 §1 lets SAVE follow any command based on SEARCH (SORT too); §2.4: with only MIN and/or MAX, `$` holds
    /// just those messages, and SAVE alone sends no ESEARCH.
    @Test func extendedSortSavesTheResult() throws {
        let t = try mailbox()
        #expect(try t.send("1 SORT RETURN (SAVE) (REVERSE DATE) UTF-8 SUBJECT hello") == ["1 OK Sort completed."])
        #expect(try t.send("2 SEARCH $") == ["* SEARCH 1 2 4", "2 OK Search completed."])
        #expect(
            try t.send("3 SORT RETURN (SAVE MIN) (REVERSE DATE) UTF-8 SUBJECT hello") == [
                "* ESEARCH (TAG \"3\") MIN 4", "3 OK Sort completed.",
            ])
        #expect(try t.send("4 SEARCH $") == ["* SEARCH 4", "4 OK Search completed."])
        _ = try t.send("5 SORT RETURN (SAVE MAX MIN) (REVERSE DATE) UTF-8 SUBJECT hello")
        #expect(try t.send("7 SEARCH $") == ["* SEARCH 1 4", "7 OK Search completed."])
        _ = try t.send("8 SORT RETURN (SAVE MIN COUNT) (DATE) UTF-8 ALL")
        #expect(try t.send("9 SEARCH $") == ["* SEARCH 1 2 3 4", "9 OK Search completed."])
    }

    /// RFC 9051 §7.3.4: an ESEARCH caused by a command names it in its correlator; SEARCH's MIN and MAX stay the
    /// lowest and highest.
    @Test func extendedSearchCarriesTheCommandTag() throws {
        let t = try mailbox()
        #expect(
            try t.send("a1 SEARCH RETURN (MAX COUNT MIN) SUBJECT hello") == [
                "* ESEARCH (TAG \"a1\") MIN 1 MAX 4 COUNT 3", "a1 OK Search completed.",
            ])
        #expect(
            try t.send("a2 SEARCH RETURN (SAVE MAX) ALL") == [
                "* ESEARCH (TAG \"a2\") MAX 4", "a2 OK Search completed.",
            ])
        #expect(try t.send("a3 SEARCH $") == ["* SEARCH 4", "a3 OK Search completed."])
    }

    @Test func threadAndUIDThread() throws {
        let t = try mailbox()
        // 1 <- 2 <- 4 by references; 3 alone and sent first.
        #expect(try t.send("1 THREAD REFERENCES UTF-8 ALL") == ["* THREAD (3)(1 2 4)", "1 OK Thread completed."])
        // By subject: hello (1, 2, 4 by sent date) after news (3).
        #expect(
            try t.send("2 THREAD ORDEREDSUBJECT UTF-8 ALL") == ["* THREAD (3)(1 (2)(4))", "2 OK Thread completed."])
        #expect(
            try t.send("3 UID THREAD REFERENCES UTF-8 NOT SUBJECT news") == [
                "* THREAD (1 2 4)", "3 OK Thread completed.",
            ])
        #expect(try t.send("4 THREAD references UTF-8 ALL").first == "* THREAD (3)(1 2 4)")
    }

    @Test func errors() throws {
        let t = try mailbox()
        #expect(
            try t.send("1 SORT (DATE) ISO-8859-1 ALL") == ["1 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset."])
        #expect(
            try t.send("2 THREAD REFERENCES KOI8-R ALL") == ["2 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset."])
        #expect(try t.send("3 THREAD FANCY UTF-8 ALL") == ["3 BAD Unknown thread algorithm."])
        let unselected = try MailTranscript(root: root)
        #expect(try unselected.send("5 SORT (DATE) UTF-8 ALL") == ["5 BAD No mailbox selected."])
        let advertised = Set(MailSession.capabilities)
        #expect(
            advertised.isSuperset(of: ["SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"]))
    }

    @Test func onlyTheHeaderIsRead() throws {
        let t = try MailTranscript(root: root)
        let header = "Subject: big\r\nFrom: a@b\r\n\r\n"
        let body = String(repeating: "0123456789abcdef\r\n", count: 200_000)
        _ = try t.send("1 APPEND INBOX {\((header + body).utf8.count)+}\r\n\(header)\(body)")
        let mailbox = try MailStore(configuration: MailStoreConfiguration(root: root, fsync: false)).open("INBOX")
        let record = try #require(mailbox.messages.first)
        #expect(record.size > 3_000_000)
        #expect(try MailSession.readHeader(of: record, in: mailbox) == Array(header.utf8))
        #expect(MailSession.headerPrefix(of: Array("A: b\nC: d\n\nbody\n\nmore".utf8)) == Array("A: b\nC: d\n\n".utf8))
        #expect(MailSession.headerPrefix(of: Array("\r\nbody".utf8)) == Array("\r\n".utf8))
        #expect(MailSession.headerPrefix(of: Array("No: end".utf8)) == Array("No: end".utf8))
        #expect(try t.send("2 SELECT INBOX").last?.hasPrefix("2 OK") == true)
        #expect(try t.send("3 SORT (SUBJECT) UTF-8 ALL") == ["* SORT 1", "3 OK Sort completed."])
    }
}
