import Testing
@testable import AerieStorage

@Suite struct ModifiedUTF7Tests {
    @Test func encodesRFCExamples() {
        #expect(ModifiedUTF7.encode("Entwürfe") == "Entw&APw-rfe")
        #expect(ModifiedUTF7.encode("a&b") == "a&-b")
        #expect(ModifiedUTF7.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
        #expect(ModifiedUTF7.encode("plain") == "plain")
    }

    @Test func decodesAndRoundTrips() {
        #expect(ModifiedUTF7.decode("Entw&APw-rfe") == "Entwürfe")
        #expect(ModifiedUTF7.decode("&U,BTFw-") == "台北")
        #expect(ModifiedUTF7.decode("a&-b") == "a&b")
        for name in ["Gelöschte Elemente", "😀 emoji", "Ünïcödé & more", "日本語"] {
            #expect(ModifiedUTF7.decode(ModifiedUTF7.encode(name)) == name)
        }
    }

    @Test func rejectsInvalid() {
        #expect(ModifiedUTF7.decode("&APw") == nil)  // unterminated
        #expect(ModifiedUTF7.decode("&AGE-") == nil)  // encodes printable "a"
        #expect(ModifiedUTF7.decode("Entwürfe") == nil)  // raw 8-bit
        #expect(ModifiedUTF7.decode("&A-") == nil)  // not whole UTF-16 units
    }
}

@Suite struct FileNameTests {
    @Test func parsesDovecotNames() {
        let name = MaildirFileName("1700000000.M12345P678.host,S=1234,W=1260:2,FS")
        #expect(name.base == "1700000000.M12345P678.host,S=1234,W=1260")
        #expect(name.info == "FS")
        #expect(name.size == 1234)
        #expect(name.virtualSize == 1260)
        let flags = StoredFileName(name.name).flags(keywords: KeywordTable())
        #expect(flags.system == [.flagged, .seen])
        #expect(StoredFileName("1700000000.M1P2.host:1,S").flags(keywords: KeywordTable()) == MessageFlags())
        #expect(MaildirFileName("1700000000.M1P2.host").info == nil)
        #expect(MaildirFileName("1700000000.M1P2.host").size == nil)
    }

    @Test func infoLettersAreSortedAndKeepUnknown() {
        let flags = MessageFlags(system: [.seen, .answered, .draft, .deleted, .flagged])
        #expect(MaildirFileName.infoLetters(for: flags, keywordIndexes: [1, 0], preserving: "P") == "DFPRSTab")
    }

    @Test func virtualSizeCountsBareLF() {
        var counter = VirtualSizeCounter()
        counter.add(Array("a\nb\r".utf8))
        counter.add(Array("\nc\n".utf8))
        #expect(counter.size == 7)
        #expect(counter.virtualSize == 9)
    }
}
