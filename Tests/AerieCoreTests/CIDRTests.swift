import AerieCore
import Testing

@Suite struct CIDRTests {
    func list(_ text: String) -> CIDRList { CIDRList(text) }

    @Test func ipv4Prefixes() {
        #expect(list("10.0.0.0/8").contains("10.255.1.2"))
        #expect(!list("10.0.0.0/8").contains("11.0.0.1"))
        #expect(list("192.0.2.7").contains("192.0.2.7"))
        #expect(!list("192.0.2.7").contains("192.0.2.8"))
        #expect(list("192.0.2.7/32").contains("192.0.2.7"))
        #expect(!list("192.0.2.7/32").contains("192.0.2.6"))
        #expect(list("192.0.2.128/25").contains("192.0.2.200"))
        #expect(!list("192.0.2.128/25").contains("192.0.2.127"))
        // Host bits set in the network are ignored, as Dovecot's net_parse_range does.
        #expect(list("10.1.2.3/8").contains("10.9.9.9"))
    }

    @Test func zeroPrefixMatchesItsFamilyOnly() {
        #expect(list("0.0.0.0/0").contains("203.0.113.9"))
        #expect(!list("0.0.0.0/0").contains("2001:db8::1"))
        #expect(list("::/0").contains("2001:db8::1"))
        #expect(!list("::/0").contains("203.0.113.9"))
    }

    @Test func ipv6Prefixes() {
        #expect(list("2001:db8::/32").contains("2001:db8:ffff::1"))
        #expect(!list("2001:db8::/32").contains("2001:db9::1"))
        #expect(list("2001:db8::1/128").contains("2001:db8::1"))
        #expect(!list("2001:db8::1/128").contains("2001:db8::2"))
        #expect(list("2001:db8::/33").contains("2001:db8:7fff::"))
        #expect(!list("2001:db8::/33").contains("2001:db8:8000::"))
        #expect(list("[2001:db8::1]").contains("2001:db8::1%eth0"))
    }

    @Test func ipv4MappedIPv6IsTheIPv4Address() {
        #expect(list("127.0.0.0/8").contains("::ffff:127.0.0.2"))
        #expect(list("::ffff:10.0.0.0/104").contains("10.3.4.5"))
        #expect(list("::ffff:10.0.0.0/104").contains("::ffff:10.3.4.5"))
        #expect(!list("::ffff:10.0.0.0/104").contains("11.0.0.1"))
        // ::1 is not IPv4-mapped, and a v4 network never matches a plain v6 address.
        #expect(!list("0.0.0.0/0").contains("::1"))
    }

    @Test func invalidEntriesMatchNothingAndAreReported() {
        let nets = list("10.0.0.300/8, 10.0.0.0/33 2001:db8::/129 example.com 10.0.0.0/ 10.0.0.0/+8 1.2.3.4")
        #expect(nets.invalid == [
            "10.0.0.300/8", "10.0.0.0/33", "2001:db8::/129", "example.com", "10.0.0.0/", "10.0.0.0/+8",
        ])
        #expect(nets.networks.count == 1)
        #expect(nets.contains("1.2.3.4"))
        #expect(!nets.contains("local"))
        #expect(!nets.contains(""))
    }

    @Test func separatorsAndListForm() {
        let nets = CIDRList(["10.0.0.0/8,192.168.0.0/16", "::1"])
        #expect(nets.contains("192.168.4.4") && nets.contains("10.1.1.1") && nets.contains("::1"))
        #expect(CIDRList([]).isEmpty)
    }

    @Test func addressTextRoundTrips() {
        #expect(IPAddress("2001:0db8:0000::0001")?.description == "2001:db8::1")
        #expect(IPAddress("127.0.0.2")?.description == "127.0.0.2")
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(CIDR("2001:db8::/32")?.description == "2001:db8::/32")
    }
}
