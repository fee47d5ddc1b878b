import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("LMTPReply")
struct LMTPReplyTests {
    @Test func singleLine() {
        #expect(LMTPReply(code: 250, enhanced: "2.1.0", "OK").bytes == bytes("250 2.1.0 OK\r\n"))
        #expect(LMTPReply(code: 220, enhanced: nil, "mx LMTP ready").bytes == bytes("220 mx LMTP ready\r\n"))
        #expect(LMTPReply(code: 354, enhanced: nil, text: []).bytes == bytes("354\r\n"))
        #expect(LMTPReply(code: 250, enhanced: "2.0.0", text: []).bytes == bytes("250 2.0.0\r\n"))
    }

    @Test func multiLine() {
        let reply = LMTPReply(code: 550, enhanced: "5.1.1", text: ["User unknown", "Try again"])
        #expect(reply.bytes == bytes("550-5.1.1 User unknown\r\n550 5.1.1 Try again\r\n"))
        #expect(LMTPReply(code: 250, enhanced: nil, text: ["a", ""]).bytes == bytes("250-a\r\n250\r\n"))
    }

    @Test func textStaysOnItsLine() {
        #expect(LMTPReply(code: 250, enhanced: "2.0.0", "a\r\n250 b").bytes == bytes("250 2.0.0 a  250 b\r\n"))
    }

    @Test func lhlo() {
        let before = LMTPCapabilities(hostname: "mx.example.org", maxMessageSize: 10_485_760, chunking: true, binaryMIME: true, smtpUTF8: true, starttls: true)
        #expect(
            before.reply.bytes
                == bytes(
                    "250-mx.example.org\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n"
                        + "250-CHUNKING\r\n250-BINARYMIME\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n"))
        let noBinary = LMTPCapabilities(hostname: "mx", maxMessageSize: 0)
        #expect(noBinary.keywords == ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE", "CHUNKING"])
        let plain = LMTPCapabilities(hostname: "mx", maxMessageSize: nil, chunking: false)
        #expect(plain.reply.bytes == bytes("250-mx\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE\r\n"))
    }
}
