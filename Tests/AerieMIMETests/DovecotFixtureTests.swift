import Testing
import AerieMIME

/// Every fixture's FETCH output compared byte for byte with what Dovecot 2.3.19 returned for the same message.
@Suite struct DovecotFixtureTests {
    static let names = Fixtures.names

    @Test(arguments: names)
    func envelopeAndBodyStructure(name: String) {
        let msg = ParsedMessage(bytes: Fixtures.message(name))
        for (item, value) in Fixtures.expected(name) {
            switch item {
            case "ENVELOPE":
                #expect(show(msg.envelopeBytes()) == show(value), "\(name) ENVELOPE")
            case "BODY":
                #expect(show(msg.bodyStructureBytes(extended: false)) == show(value), "\(name) BODY")
            case "BODYSTRUCTURE":
                #expect(show(msg.bodyStructureBytes(extended: true)) == show(value), "\(name) BODYSTRUCTURE")
            case "RFC822.SIZE":
                #expect("\(msg.crlfBytes.count)" == show(value), "\(name) RFC822.SIZE")
            default: break
            }
        }
    }

    @Test(arguments: names)
    func sections(name: String) {
        let msg = ParsedMessage(bytes: Fixtures.message(name))
        for (item, value) in Fixtures.expected(name) {
            guard let spec = Fixtures.section(item) else { continue }
            // Dovecot answers a missing section with an empty string; we say nil.
            let ours = msg.section(spec) ?? []
            #expect(show(ours) == show(Fixtures.unwrapString(value) ?? []), "\(name) \(item)")
        }
    }

    @Test(arguments: names)
    func binarySections(name: String) {
        let msg = ParsedMessage(bytes: Fixtures.message(name))
        for (item, value) in Fixtures.expected(name) where item.hasPrefix("BINARY.PEEK[") {
            guard value != Array("NO".utf8) else { continue }  // Dovecot refused (invalid encoded data)
            let n = Int(item.dropFirst("BINARY.PEEK[".count).dropLast()) ?? 0
            let ours = msg.binarySection([n]) ?? []
            #expect(show(ours) == show(Fixtures.unwrapString(value) ?? []), "\(name) \(item)")
        }
    }

    private func show(_ b: [UInt8]) -> String {
        String(decoding: b, as: UTF8.self).replacingCRLF()
    }
}

extension String {
    fileprivate func replacingCRLF() -> String {
        var s = ""
        for c in unicodeScalars {
            switch c {
            case "\r": s += "\\r"
            case "\n": s += "\\n\n"
            default: s.unicodeScalars.append(c)
            }
        }
        return s
    }
}
