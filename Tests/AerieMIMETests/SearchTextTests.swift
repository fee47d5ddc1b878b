import Testing

@testable import AerieMIME

@Suite struct SearchTextTests {
    private func message(_ header: String) -> ParsedMessage {
        ParsedMessage(bytes: Array((header + "\r\n\r\nbody\r\n").utf8))
    }

    /// RFC 3501 §6.4.4: SENT* see the date as written in the Date header, not the UTC instant.
    @Test func sentLocalDateKeepsTheWrittenDate() {
        let east = message("Date: Sun, 25 Mar 2007 00:30:00 +0200")
        #expect(east.date == DateParser.parse(Array("Sat, 24 Mar 2007 22:30:00 +0000".utf8)))
        // Not a date: 30 February.
        #expect(message("Date: Thu, 30 Feb 2023 10:00:00 +0000").date == nil)
        #expect(message("Date: Thu, 29 Feb 2024 10:00:00 +0000").date != nil)
        #expect(east.sentLocalDate == Int64(DateParser.daysFromCivil(2007, 3, 25)) * 86_400 + 1_800)
        let west = message("Date: Sat, 24 Mar 2007 23:00:00 -0500")
        #expect(west.sentLocalDate == Int64(DateParser.daysFromCivil(2007, 3, 24)) * 86_400 + 23 * 3_600)
        // As in Dovecot, no usable Date is the epoch: such messages are SENTBEFORE any date.
        #expect(message("Subject: none").sentLocalDate == 0)
        #expect(message("Date: never").sentLocalDate == 0)
    }

    /// FROM/TO/CC/BCC search text: one normal form per field, comments dropped, a trailing comment as the name.
    @Test func addressesAreWrittenInOneForm() {
        let m = message(
            "From: <user-from (comment)@ (comment) domain.org>\r\nTo: a@b (Real Name), =?UTF-8?Q?=C3=89mile?= <e@f>\r\n"
                + "Cc: team: x@y, z@w;, other:;, last@l\r\nCc: second@s\r\nBcc: undisclosed")
        #expect(m.searchableAddresses("From") == ["<user-from@domain.org>"])
        // Names and local parts are quoted where they need it, as in Dovecot's message_address_write.
        #expect(m.searchableAddresses("to") == ["\"Real Name\" <a@b>, Émile <e@f>"])
        let quoted = message(#"From: "Smith <boss>" <s@x>, "a b"@x, O'Hara <o.h@x>, "J. \"Jay\" Doe" <j@x>, "": ;"#)
        #expect(
            quoted.searchableAddresses("From") == [
                #""Smith <boss>" <s@x>, <"a b"@x>, O'Hara <o.h@x>, "J. \"Jay\" Doe" <j@x>, "":;"#
            ])
        #expect(m.searchableAddresses("Cc") == ["team: <x@y>, <z@w>;, other:;, <last@l>", "<second@s>"])
        #expect(m.searchableAddresses("Bcc") == ["<undisclosed@MISSING_DOMAIN>"])
        #expect(m.searchableAddresses("Reply-To") == [])
        // Only a comment: the field is there (an empty search string finds it) but holds no text to match.
        #expect(message("From: (only comment)").searchableAddresses("From") == [""])
    }
}
