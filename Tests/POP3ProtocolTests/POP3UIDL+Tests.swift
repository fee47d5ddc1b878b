import Testing

@testable import POP3Protocol

@Suite("POP3UIDL")
struct POP3UIDLTests {
    private func format(_ template: String, uidValidity: UInt32 = 1_700_000_000, uid: UInt32 = 5, guid: String? = nil, md5: String? = nil, fileName: String? = nil) -> String {
        POP3UIDL.format(template, uidValidity: uidValidity, uid: uid, guid: guid, md5: md5, fileName: fileName)
    }

    @Test func dovecotDefaultMatchesCapturedDovecot() {
        for (uid, line) in DovecotUIDLFixture.defaultFormatListing {
            let uidl = format(POP3UIDL.dovecotDefaultFormat, uidValidity: DovecotUIDLFixture.uidValidity, uid: uid)
            #expect(line.split(separator: " ").last.map(String.init) == uidl)
            #expect(POP3UIDL.isValid(uidl))
        }
    }

    @Test func dovecot23ModifiersMatchCapturedDovecot() {
        let uidl = format(
            DovecotUIDLFixture.mixedFormat, uidValidity: DovecotUIDLFixture.uidValidity, uid: 1,
            fileName: DovecotUIDLFixture.mixedFormatFileName)
        #expect(uidl == DovecotUIDLFixture.mixedFormatUIDL)
    }

    /// 1700000000 = 0x6553F100; Dovecot prints lower-case hex, UID first by default.
    @Test func knownValues() {
        #expect(format(POP3UIDL.dovecotDefaultFormat) == "000000056553f100")
        #expect(format("%08Xv%08Xu") == "6553f10000000005")
        #expect(format(POP3UIDL.dovecot24DefaultFormat) == "000000056553f100")
        #expect(format("%{uidvalidity|hex(8)}%{uid|hex(8)}") == "6553f10000000005")
        #expect(format("%{uidvalidity}-%{uid}") == "1700000000-5")
        #expect(format("%{uid | hex(8) | upper}") == "00000005")
        #expect(format("%{uidvalidity | hex | upper}") == "6553F100")
        #expect(format("%{uidvalidity | hex(4)}") == "f100")  // keeps the last 4
        #expect(format("%{uid | hex(-4)}") == "5000")  // right-padded
        #expect(format("%{guid}", guid: "0ae1b2c3d4") == "0ae1b2c3d4")
        #expect(format("%g", guid: "G") == "G")
        #expect(format("%m", md5: "d41d8cd98f00b204e9800998ecf8427e") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(format("%{md5}", md5: "AB") == "AB")
        #expect(format("%f", fileName: "f1") == "f1")
        #expect(format("%{filename | upper}", fileName: "f1") == "F1")
        #expect(format("%v.%u") == "1700000000.5")
        #expect(format("100%%-%u") == "100%-5")
        #expect(format("%Xu%XU") == "5")  // %XU: modifiers X and U, then no key
        #expect(format("%-3.2v") == "00")  // offset from the end
        #expect(format("%Rv") == "0000000071")
    }

    @Test func extremes() {
        #expect(format(POP3UIDL.dovecotDefaultFormat, uidValidity: .max, uid: .max) == "ffffffffffffffff")
        #expect(format(POP3UIDL.dovecotDefaultFormat, uidValidity: 1, uid: 1) == "0000000100000001")
        #expect(format("%0999u") == String(repeating: "0", count: 254) + "5")  // widths are capped at 255
    }

    @Test func validation() throws {
        try POP3UIDL.validateTemplate(POP3UIDL.dovecotDefaultFormat)
        try POP3UIDL.validateTemplate(POP3UIDL.dovecot24DefaultFormat)
        try POP3UIDL.validateTemplate("%g")
        #expect(throws: POP3UIDLTemplateError(message: "Unknown variable %x")) { try POP3UIDL.validateTemplate("%x") }
        #expect(throws: POP3UIDLTemplateError(message: "Unknown variable user")) { try POP3UIDL.validateTemplate("%{user}") }
        #expect(throws: POP3UIDLTemplateError(message: "Unknown filter sha1")) { try POP3UIDL.validateTemplate("%{uid|sha1}") }
        #expect(throws: POP3UIDLTemplateError(message: "Missing }")) { try POP3UIDL.validateTemplate("%{uid") }
        #expect(throws: POP3UIDLTemplateError(message: "Template ends inside a variable")) { try POP3UIDL.validateTemplate("%u%08") }
        #expect(throws: POP3UIDLTemplateError(message: "Template uses no message variable")) { try POP3UIDL.validateTemplate("fixed") }
    }

    @Test func wireValidity() {
        #expect(POP3UIDL.isValid("a"))
        #expect(POP3UIDL.isValid(String(repeating: "~", count: 70)))
        #expect(!POP3UIDL.isValid(""))
        #expect(!POP3UIDL.isValid(String(repeating: "a", count: 71)))
        #expect(!POP3UIDL.isValid("a b"))
        #expect(!POP3UIDL.isValid("ä"))
        #expect(!POP3UIDL.isValid(DovecotUIDLFixture.mixedFormatUIDL))  // Dovecot sent it anyway; we can check
    }
}
