@testable import AerieAuth
import Testing

/// Issue 11: the request/reply protocol between the server and the auth process.
@Suite struct AuthWireTests {
    static let request = AuthRequest(
        user: "alice@example.com", password: "pässword with spaces", mechanism: "PLAIN", service: "pop3",
        remoteIP: "192.0.2.7", localIP: "192.0.2.1", secured: true, sessionID: "ijcg5nGgZXIX")

    /// Strips the 4-byte length prefix after checking it.
    func payload(_ frame: [UInt8]) throws -> [UInt8] {
        var frames = AuthWire.FrameBuffer()
        frames.append(frame)
        let payload = try #require(try frames.next())
        #expect(try frames.next() == nil)
        return payload
    }

    @Test func requestsRoundTrip() throws {
        var certified = Self.request
        certified.certificateVerified = true
        for request in [
            AuthWire.Request.authenticate(id: 7, Self.request), .authenticate(id: 8, certified),
            .lookup(id: 0xFFFF_FFFF, user: "bob"), .markLogin(id: 3), .redeem(id: 4, token: "ab12"),
        ] {
            #expect(try AuthWire.decodeRequest(payload(AuthWire.encode(request))) == request)
        }
    }

    @Test func repliesRoundTripWithoutAnyPasswordField() throws {
        let user = AuthenticatedUser(
            user: "alice", uid: 1500, gid: 995, home: "/home/alice", extraFields: ["mail": "maildir:~/M", "k": ""])
        var replies = [AuthWire.Reply(id: 1, result: .success(user))]
        for failure in AuthWire.failureCodes.map(\.0) {
            replies.append(AuthWire.Reply(id: 2, result: .failure(failure)))
        }
        replies.append(.retry(id: 3))
        for reply in replies {
            #expect(try AuthWire.decodeReply(payload(AuthWire.encode(reply))) == reply)
        }
    }

    @Test func framesArriveInPiecesAndTogether() throws {
        let one = try AuthWire.encode(AuthWire.Request.lookup(id: 1, user: "a"))
        let two = try AuthWire.encode(AuthWire.Request.authenticate(id: 2, Self.request))
        var frames = AuthWire.FrameBuffer()
        var got: [AuthWire.Request] = []
        for byte in one + two {
            frames.append([byte])
            while let payload = try frames.next() { got.append(try AuthWire.decodeRequest(payload)) }
        }
        #expect(got == [.lookup(id: 1, user: "a"), .authenticate(id: 2, Self.request)])
    }

    @Test func oversizedFramesAndFieldsAreRefused() throws {
        var frames = AuthWire.FrameBuffer()
        let length = AuthWire.maxFrame + 1
        frames.append([24, 16, 8, 0].map { UInt8(length >> $0 & 0xFF) })
        #expect(throws: AuthWireError.tooLarge) { try frames.next() }

        let long = String(repeating: "x", count: AuthWire.maxString + 1)
        #expect(throws: AuthWireError.tooLarge) { try AuthWire.encode(AuthWire.Request.lookup(id: 1, user: long)) }
        // A peer that claims a longer string than the bound is refused before the bytes are looked at.
        #expect(throws: AuthWireError.tooLarge) { try AuthWire.decodeRequest([2, 0, 0, 0, 1, 0x20, 0x01]) }

        var fields: [String: String] = [:]
        for i in 0...AuthWire.maxExtraFields { fields["f\(i)"] = "v" }
        let user = AuthenticatedUser(user: "a", uid: 1, gid: 1, home: "/", extraFields: fields)
        #expect(throws: AuthWireError.tooLarge) {
            try AuthWire.encode(AuthWire.Reply(id: 1, result: .success(user)))
        }
        let many: [UInt8] = [0x81, 0, 0, 0, 1, 0, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0x2F, 0x01, 0x01]
        #expect(throws: AuthWireError.tooLarge) { try AuthWire.decodeReply(many) }
    }

    @Test func malformedPayloadsAreRefused() throws {
        let good = try payload(AuthWire.encode(AuthWire.Request.authenticate(id: 9, Self.request)))
        // Every truncation, and a trailing byte.
        for cut in 0..<good.count {
            #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest(Array(good[..<cut])) }
        }
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest(good + [0]) }
        // Unknown kind; a reply where a request belongs; flags beyond secured (1) and certificateVerified (2).
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest([9, 0, 0, 0, 1]) }
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest([0x81, 0, 0, 0, 1, 6]) }
        var badFlag = good
        badFlag[badFlag.count - 1] = 4
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest(badFlag) }
        // Invalid UTF-8 in a string.
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeRequest([2, 0, 0, 0, 1, 0, 1, 0xFF]) }
        // Unknown failure status; a duplicate extra field.
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeReply([0x81, 0, 0, 0, 1, 99]) }
        let duplicate: [UInt8] =
            [0x81, 0, 0, 0, 1, 0, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0x2F, 0, 2]
            + [0, 1, 0x6B, 0, 1, 0x76, 0, 1, 0x6B, 0, 1, 0x76]
        #expect(throws: AuthWireError.malformed) { try AuthWire.decodeReply(duplicate) }
        var fine = duplicate
        fine[fine.count - 4] = 0x6A  // second key "j": now valid
        #expect(try AuthWire.decodeReply(fine).result != .failure(.temporaryFailure))
    }
}

/// SCRAM steps between the server and the auth process (issue 13).
@Suite struct AuthWireSASLTests {
    @Test func saslStepsRoundTrip() throws {
        let step = SASLStepRequest(exchange: 42, context: AuthWireTests.request, response: [0, 1, 2, 0xFF])
        var frames = AuthWire.FrameBuffer()
        frames.append(try AuthWire.encode(AuthWire.Request.saslStep(id: 9, step)))
        #expect(try AuthWire.decodeRequest(#require(try frames.next())) == .saslStep(id: 9, step))
        // SCRAM -PLUS: the channel binding data travels along; empty data is not the same as none.
        for binding: [UInt8]? in [[9, 8, 7], []] {
            var bound = step
            bound.channelBinding = binding
            frames.append(try AuthWire.encode(AuthWire.Request.saslStep(id: 10, bound)))
            #expect(try AuthWire.decodeRequest(#require(try frames.next())) == .saslStep(id: 10, bound))
        }
        let user = AuthenticatedUser(user: "user", uid: 1000, gid: 1000, home: "/h", extraFields: ["a": "b"])
        let replies: [SASLStepReply] = [
            .challenge(exchange: 7, user: "user", Array("r=abc,s=xyz,i=4096".utf8)),
            .finished(.success(user), serverFinal: Array("v=sig".utf8)),
            .finished(.failure(.passwordMismatch), serverFinal: nil),
        ]
        for reply in replies {
            frames.append(try AuthWire.encodeSASLReply(id: 3, reply))
            let payload = try #require(try frames.next())
            #expect(AuthWire.isSASLReply(payload))
            let decoded = try AuthWire.decodeSASLReply(payload)
            #expect(decoded.id == 3 && decoded.1 == reply)
            #expect(throws: AuthWireError.malformed) { try AuthWire.decodeSASLReply(payload + [0]) }
        }
    }
}
