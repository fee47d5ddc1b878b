import AerieStorage
import AerieTestSupport
import Testing

@testable import IMAPSession

/// SEARCH keys on header dates and addresses (RFC 3501 §6.4.4 / RFC 9051 §6.4.4), over a real temporary Maildir;
/// the messages are imaptest's search-date and search-addresses cases.
@Suite final class MailSessionSearchTests {
    let root = makeTempDirectory("mail-search")
    deinit { removeTree(root) }

    private func append(_ t: MailTranscript, _ header: String) throws {
        let message = header.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
            + "\r\n\r\nbody"
        let out = try t.send("a APPEND INBOX \"24-Mar-2007 23:00:00 +0200\" {\(message.utf8.count)+}\r\n\(message)")
        #expect(out.last?.hasPrefix("a OK") == true)
    }

    /// SENT* compare the Date header's date as written: its time and zone are disregarded.
    @Test func sentDatesIgnoreTheZone() throws {
        let t = try MailTranscript(root: root)
        for date in [
            "Sat, 24 Mar 2007 23:00:00 +0200", "Sun, 25 Mar 2007 00:00:00 +0200", "Sun, 25 Mar 2007 02:00:00 +0200",
            "Sun, 25 Mar 2007 23:00:00 +0300", "Mon, 26 Mar 2007 00:00:00 +0300",
        ] {
            try append(t, "Date: \(date)")
        }
        // Without a Date header a message counts as sent in 1970, as in Dovecot.
        try append(t, "Subject: undated")
        _ = try t.send("s SELECT INBOX")
        #expect(try t.send("1 SEARCH SENTBEFORE 25-Mar-2007") == ["* SEARCH 1 6", "1 OK Search completed."])
        #expect(try t.send("2 SEARCH SENTON 25-Mar-2007") == ["* SEARCH 2 3 4", "2 OK Search completed."])
        #expect(try t.send("3 SEARCH SENTSINCE 26-Mar-2007") == ["* SEARCH 5", "3 OK Search completed."])
        #expect(try t.send("4 SEARCH NOT SENTON 25-Mar-2007") == ["* SEARCH 1 5 6", "4 OK Search completed."])
    }

    /// FROM/TO/CC/BCC find the address and the display name however the field writes them: comments inside the
    /// address, a trailing comment as the name, group names and members.
    @Test func addressKeysSeeTheAddressesNormalised() throws {
        let t = try MailTranscript(root: root)
        try append(t, "From: user-from@domain.org\nTo: user-to@domain.org")
        try append(t, "From: RealFrom <user-from@domain.org>\nTo: RealTo <user-to@domain.org>")
        try append(t, "From: <user-from (comment)@ (comment) domain.org>\nTo: <user-to@domain.org>")
        try append(t, "From: user-from@domain.org (RealFrom)\nBcc: =?UTF-8?Q?R=C3=A9al?= <b@domain.org>")
        try append(
            t, "From: user-from1@domain.org, user-from2@domain.org\n"
                + "To: groupname: groupuser1@domain.org, groupuser2@domain.org;,\n  groupname2: groupuser3@domain.org;")
        try append(t, "From: RealFrom <user-from@domain.org>\nTo: groupname:;")
        _ = try t.send("s SELECT INBOX")
        #expect(try t.send("1 SEARCH FROM user-from@domain.org") == ["* SEARCH 1 2 3 4 6", "1 OK Search completed."])
        #expect(try t.send("2 SEARCH FROM realfrom") == ["* SEARCH 2 4 6", "2 OK Search completed."])
        #expect(try t.send("3 SEARCH FROM ser-fro") == ["* SEARCH 1 2 3 4 5 6", "3 OK Search completed."])
        #expect(try t.send("4 SEARCH FROM user-from2") == ["* SEARCH 5", "4 OK Search completed."])
        #expect(try t.send("5 SEARCH TO groupname") == ["* SEARCH 5 6", "5 OK Search completed."])
        #expect(try t.send("6 SEARCH TO groupuser3") == ["* SEARCH 5", "6 OK Search completed."])
        #expect(try t.send("7 SEARCH TO groupuser4") == ["* SEARCH", "7 OK Search completed."])
        #expect(try t.send("8 SEARCH CHARSET UTF-8 BCC {5+}\r\nréal") == ["* SEARCH 4", "8 OK Search completed."])
        // An empty string matches every message that has the field.
        #expect(try t.send("9 SEARCH TO \"\"") == ["* SEARCH 1 2 3 5 6", "9 OK Search completed."])
    }
}
