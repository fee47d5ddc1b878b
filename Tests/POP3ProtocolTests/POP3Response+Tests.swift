import AerieTestSupport
import Testing

@testable import POP3Protocol

@Suite("POP3Response")
struct POP3ResponseTests {
    @Test func statusLines() {
        #expect(POP3Response.ok("").bytes == bytes("+OK\r\n"))
        #expect(POP3Response.ok("2 320").bytes == bytes("+OK 2 320\r\n"))
        #expect(POP3Response.err(code: nil, "No such message").bytes == bytes("-ERR No such message\r\n"))
        #expect(POP3Response.err(code: .auth, "Authentication failed.").bytes == bytes("-ERR [AUTH] Authentication failed.\r\n"))
        #expect(POP3Response.err(code: .sysTemp, "x").bytes == bytes("-ERR [SYS/TEMP] x\r\n"))
        #expect(POP3Response.err(code: .sysPerm, "x").bytes == bytes("-ERR [SYS/PERM] x\r\n"))
        #expect(POP3Response.err(code: .inUse, "x").bytes == bytes("-ERR [IN-USE] x\r\n"))
        #expect(POP3Response.err(code: .loginDelay, "x").bytes == bytes("-ERR [LOGIN-DELAY] x\r\n"))
    }

    @Test func textsStayOnOneLine() {
        #expect(POP3Response.ok("a\r\n-ERR b").bytes == bytes("+OK a  -ERR b\r\n"))
        #expect(POP3Response.continuation("x\ny").bytes == bytes("+ x y\r\n"))
    }

    @Test func continuation() {
        #expect(POP3Response.continuation("").bytes == bytes("+ \r\n"))
        #expect(POP3Response.continuation("VXNlcm5hbWU6").bytes == bytes("+ VXNlcm5hbWU6\r\n"))
    }

    @Test func multilineIsDotStuffed() {
        let response = POP3Response.multiline(first: "2 messages", lines: ["1 120", ".hidden", "..", ""])
        #expect(response.bytes == bytes("+OK 2 messages\r\n1 120\r\n..hidden\r\n...\r\n\r\n.\r\n"))
        #expect(POP3Response.multiline(first: "", lines: []).bytes == bytes("+OK\r\n.\r\n"))
    }

    @Test func capabilities() {
        let before = POP3Capabilities(saslMechanisms: ["PLAIN", "LOGIN"], user: true, stls: true)
        #expect(
            before.response.bytes
                == bytes("+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"))
        let after = POP3Capabilities(user: false, utf8: true, implementation: "Aerie")
        #expect(after.lines == ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "UTF8", "IMPLEMENTATION Aerie"])
    }
}
