/// The request/reply protocol between the server and the auth process (`aerie auth-service`).
///
/// Every message is one frame: a 4-byte big-endian length, then that many payload bytes (at most `maxFrame`).
/// A payload starts with a kind byte and a 4-byte request id, so many requests can be in flight on one
/// connection and replies may come back in any order. Strings are a 2-byte length and UTF-8 bytes. A reply
/// carries the user's fields (uid, gid, home, extra fields), never a password hash.
public enum AuthWire {
    /// Largest payload either side sends or accepts.
    public static let maxFrame = 64 * 1024
    /// Longest string field (user names, passwords, extra field values).
    public static let maxString = 8 * 1024
    /// Most userdb extra fields in one reply.
    public static let maxExtraFields = 256
    /// Most words in an admin request.
    public static let maxAdminArguments = 64

    public enum Request: Sendable, Equatable {
        case authenticate(id: UInt32, AuthRequest)
        /// Userdb lookup without a password (LMTP delivery).
        case lookup(id: UInt32, user: String)
        /// `aerie adm penalty …` / `aerie adm ban …`: answered with an admin reply (`encodeAdminReply`).
        case admin(id: UInt32, arguments: [String])
        /// One step of a SASL exchange run in the auth process (SCRAM): answered with `encodeSASLReply`.
        case saslStep(id: UInt32, SASLStepRequest)
        /// Sent by the master first on every connection it makes for the login process: from then on a successful
        /// login's reply carries a one-time token (`LoginTokens.field`) and `redeem` is refused. No reply.
        case markLogin(id: UInt32)
        /// The master: the user and userdb fields of the login a token was issued for (once); a failure otherwise.
        case redeem(id: UInt32, token: String)

        public var id: UInt32 {
            switch self {
            case .authenticate(let id, _), .lookup(let id, _), .admin(let id, _), .saslStep(let id, _): id
            case .markLogin(let id), .redeem(let id, _): id
            }
        }
    }

    public struct Reply: Sendable, Equatable {
        public var id: UInt32
        public var result: AuthResult
        /// The auth process is being replaced (a reload): ask again on a new connection. `result` is then a
        /// temporary failure.
        public var retry: Bool

        public init(id: UInt32, result: AuthResult) {
            self.id = id
            self.result = result
            self.retry = false
        }

        public static func retry(id: UInt32) -> Reply {
            var reply = Reply(id: id, result: .failure(.temporaryFailure))
            reply.retry = true
            return reply
        }
    }

    static let retryStatus: UInt8 = 0xFE

    enum Kind: UInt8 {
        case authenticate = 1, lookup = 2, admin = 3, saslStep = 4, markLogin = 5, redeem = 6, reply = 0x81, adminReply = 0x82, saslReply = 0x83
        /// A piece of an admin answer that streams (a user listing); the `adminReply` ends it.
        case adminPart = 0x84
    }

    static let failureCodes: [(AuthFailure, UInt8)] = [
        (.passwordMismatch, 1), (.unknownUser, 2), (.uidNotPermitted, 3), (.gidNotPermitted, 4),
        (.schemeNotAllowed, 5), (.temporaryFailure, 6), (.denied, 7),
    ]

    // MARK: - Encoding

    public static func encode(_ request: Request) throws(AuthWireError) -> [UInt8] {
        var out = Writer()
        switch request {
        case .authenticate(let id, let r):
            out.byte(Kind.authenticate.rawValue)
            out.u32(id)
            try out.authRequest(r)
        case .saslStep(let id, let step):
            out.byte(Kind.saslStep.rawValue)
            out.u32(id)
            out.u32(step.exchange)
            try out.authRequest(step.context)
            try out.blob(step.response)
            out.byte(step.channelBinding == nil ? 0 : 1)
            try out.blob(step.channelBinding ?? [])
        case .lookup(let id, let user):
            out.byte(Kind.lookup.rawValue)
            out.u32(id)
            try out.string(user)
        case .markLogin(let id):
            out.byte(Kind.markLogin.rawValue)
            out.u32(id)
        case .redeem(let id, let token):
            out.byte(Kind.redeem.rawValue)
            out.u32(id)
            try out.string(token)
        case .admin(let id, let arguments):
            guard arguments.count <= maxAdminArguments else { throw .tooLarge }
            out.byte(Kind.admin.rawValue)
            out.u32(id)
            out.byte(UInt8(arguments.count))
            for argument in arguments { try out.string(argument) }
        }
        return try out.framed()
    }

    /// An admin command's answer: whether it succeeded, and its text (cut to `maxString` bytes).
    public static func encodeAdminReply(id: UInt32, ok: Bool, text: String) throws(AuthWireError) -> [UInt8] {
        var out = Writer()
        out.byte(Kind.adminReply.rawValue)
        out.u32(id)
        out.byte(ok ? 1 : 0)
        var cut = Array(text.utf8.prefix(maxString))
        while String(validating: cut, as: UTF8.self) == nil { cut.removeLast() }
        try out.string(String(decoding: cut, as: UTF8.self))
        return try out.framed()
    }

    /// A streamed piece of an admin answer (one `aerie adm user '*'` batch of names); more follows.
    public static func encodeAdminPart(id: UInt32, text: String) throws(AuthWireError) -> [UInt8] {
        var out = Writer()
        out.byte(Kind.adminPart.rawValue)
        out.u32(id)
        try out.string(text)
        return try out.framed()
    }

    /// The text of an `adminPart` payload; nil when the payload is another kind (the final `adminReply`).
    public static func decodeAdminPart(_ payload: [UInt8]) throws(AuthWireError) -> String? {
        guard payload.first == Kind.adminPart.rawValue else { return nil }
        var reader = Reader(payload)
        _ = try reader.byte()
        _ = try reader.u32()
        let text = try reader.string()
        try reader.end()
        return text
    }

    public static func decodeAdminReply(_ payload: [UInt8]) throws(AuthWireError)
        -> (id: UInt32, ok: Bool, text: String)
    {
        var reader = Reader(payload)
        guard try reader.byte() == Kind.adminReply.rawValue else { throw .malformed }
        let id = try reader.u32()
        let ok = try reader.byte()
        guard ok <= 1 else { throw .malformed }
        let text = try reader.string()
        try reader.end()
        return (id, ok == 1, text)
    }

    public static func encode(_ reply: Reply) throws(AuthWireError) -> [UInt8] {
        var out = Writer()
        out.byte(Kind.reply.rawValue)
        out.u32(reply.id)
        if reply.retry {
            out.byte(retryStatus)
            return try out.framed()
        }
        try out.result(reply.result)
        return try out.framed()
    }

    /// The answer to a `saslStep`: status 0 and a challenge, or status 1, the result and the optional final data.
    public static func encodeSASLReply(id: UInt32, _ reply: SASLStepReply) throws(AuthWireError) -> [UInt8] {
        var out = Writer()
        out.byte(Kind.saslReply.rawValue)
        out.u32(id)
        switch reply {
        case .challenge(let exchange, let user, let bytes):
            out.byte(0)
            out.u32(exchange)
            try out.string(user)
            try out.blob(bytes)
        case .finished(let result, let serverFinal):
            out.byte(1)
            try out.result(result)
            out.byte(serverFinal == nil ? 0 : 1)
            if let serverFinal { try out.blob(serverFinal) }
        }
        return try out.framed()
    }

    public static func decodeSASLReply(_ payload: [UInt8]) throws(AuthWireError) -> (id: UInt32, SASLStepReply) {
        var reader = Reader(payload)
        guard try reader.byte() == Kind.saslReply.rawValue else { throw .malformed }
        let id = try reader.u32()
        let reply: SASLStepReply
        switch try reader.byte() {
        case 0:
            let exchange = try reader.u32()
            let user = try reader.string()
            reply = .challenge(exchange: exchange, user: user, try reader.blob())
        case 1:
            let result = try reader.result()
            switch try reader.byte() {
            case 0: reply = .finished(result, serverFinal: nil)
            case 1: reply = .finished(result, serverFinal: try reader.blob())
            default: throw .malformed
            }
        default: throw .malformed
        }
        try reader.end()
        return (id, reply)
    }

    /// Whether a reply payload is a `saslStep`'s answer (`decodeSASLReply`) rather than a `Reply`.
    public static func isSASLReply(_ payload: [UInt8]) -> Bool { payload.first == Kind.saslReply.rawValue }
}

extension AuthWire.Writer {
    mutating func authRequest(_ r: AuthRequest) throws(AuthWireError) {
        for field in [r.user, r.password, r.mechanism, r.service, r.remoteIP, r.localIP, r.sessionID] {
            try string(field)
        }
        byte((r.secured ? 1 : 0) | (r.certificateVerified ? 2 : 0))
    }

    mutating func blob(_ value: [UInt8]) throws(AuthWireError) {
        guard value.count <= AuthWire.maxString else { throw .tooLarge }
        u16(UInt16(value.count))
        bytes += value
    }

    public mutating func result(_ result: AuthResult) throws(AuthWireError) {
        switch result {
        case .success(let user):
            guard user.extraFields.count <= AuthWire.maxExtraFields else { throw .tooLarge }
            byte(0)
            try string(user.user)
            u32(user.uid)
            u32(user.gid)
            try string(user.home)
            u16(UInt16(user.extraFields.count))
            for (key, value) in user.extraFields.sorted(by: { $0.key < $1.key }) {
                try string(key)
                try string(value)
            }
        case .failure(let failure):
            byte(AuthWire.failureCodes.first { $0.0 == failure }!.1)
        }
    }
}

extension AuthWire {
    // MARK: - Decoding

    /// Decodes one request payload (without its length prefix).
    public static func decodeRequest(_ payload: [UInt8]) throws(AuthWireError) -> Request {
        var reader = Reader(payload)
        let kind = try reader.byte()
        let id = try reader.u32()
        let request: Request
        switch Kind(rawValue: kind) {
        case .authenticate:
            request = .authenticate(id: id, try reader.authRequest())
        case .saslStep:
            let exchange = try reader.u32()
            let context = try reader.authRequest()
            let response = try reader.blob()
            let hasBinding = try reader.byte()
            guard hasBinding <= 1 else { throw .malformed }
            let binding = try reader.blob()
            request = .saslStep(
                id: id,
                SASLStepRequest(
                    exchange: exchange, context: context, response: response,
                    channelBinding: hasBinding == 1 ? binding : nil))
        case .lookup:
            request = .lookup(id: id, user: try reader.string())
        case .markLogin:
            request = .markLogin(id: id)
        case .redeem:
            request = .redeem(id: id, token: try reader.string())
        case .admin:
            let count = Int(try reader.byte())
            guard count <= maxAdminArguments else { throw .tooLarge }
            var arguments: [String] = []
            for _ in 0..<count { arguments.append(try reader.string()) }
            request = .admin(id: id, arguments: arguments)
        default:
            throw .malformed
        }
        try reader.end()
        return request
    }

    /// Decodes one reply payload (without its length prefix).
    public static func decodeReply(_ payload: [UInt8]) throws(AuthWireError) -> Reply {
        var reader = Reader(payload)
        guard try reader.byte() == Kind.reply.rawValue else { throw .malformed }
        let id = try reader.u32()
        let status = try reader.byte()
        let result: AuthResult
        if status == 0 {
            let user = try reader.string()
            let uid = try reader.u32(), gid = try reader.u32()
            let home = try reader.string()
            let count = Int(try reader.u16())
            guard count <= maxExtraFields else { throw .tooLarge }
            var fields: [String: String] = [:]
            for _ in 0..<count {
                let key = try reader.string()
                guard fields[key] == nil else { throw .malformed }
                fields[key] = try reader.string()
            }
            result = .success(AuthenticatedUser(user: user, uid: uid, gid: gid, home: home, extraFields: fields))
        } else if status == retryStatus {
            try reader.end()
            return .retry(id: id)
        } else {
            guard let failure = failureCodes.first(where: { $0.1 == status })?.0 else { throw .malformed }
            result = .failure(failure)
        }
        try reader.end()
        return Reply(id: id, result: result)
    }

    /// Splits a byte stream into frame payloads; bytes of an unfinished frame stay buffered.
    public struct FrameBuffer: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0

        public init() {}

        public mutating func append(_ bytes: some Sequence<UInt8>) {
            buffer.append(contentsOf: bytes)
        }

        /// The next complete payload, nil when more bytes are needed; a length over `maxFrame` is an error
        /// (the connection must be closed: the stream can no longer be trusted).
        public mutating func next() throws(AuthWireError) -> [UInt8]? {
            guard buffer.count - start >= 4 else { return nil }
            let length = buffer[start..<start + 4].reduce(0) { $0 << 8 | Int($1) }
            guard length <= maxFrame else { throw .tooLarge }
            guard buffer.count - start >= 4 + length else { return nil }
            let payload = Array(buffer[start + 4..<start + 4 + length])
            start += 4 + length
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 4096 {
                buffer.removeFirst(start)
                start = 0
            }
            return payload
        }
    }

    /// Builds a payload behind a 4-byte length placeholder (`framed`); other local wire formats (the login hand-off)
    /// write with it too, taking `payload`.
    public struct Writer {
        var bytes: [UInt8] = [0, 0, 0, 0]

        public init() {}

        /// What was written, without the frame's length.
        public var payload: [UInt8] { Array(bytes[4...]) }

        public mutating func byte(_ value: UInt8) { bytes.append(value) }

        public mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }

        public mutating func u32(_ value: UInt32) {
            bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }

        public mutating func u64(_ value: UInt64) {
            u32(UInt32(value >> 32))
            u32(UInt32(value & 0xFFFF_FFFF))
        }

        /// A 4-byte length and the bytes; the caller bounds the size.
        public mutating func longBlob(_ value: [UInt8]) {
            u32(UInt32(value.count))
            bytes += value
        }

        /// 0, or 1 and the string.
        public mutating func optionalString(_ value: String?) throws(AuthWireError) {
            guard let value else { return byte(0) }
            byte(1)
            try string(value)
        }

        public mutating func string(_ value: String) throws(AuthWireError) {
            let utf8 = Array(value.utf8)
            guard utf8.count <= AuthWire.maxString else { throw .tooLarge }
            u16(UInt16(utf8.count))
            bytes += utf8
        }

        func framed() throws(AuthWireError) -> [UInt8] {
            let length = bytes.count - 4
            guard length <= AuthWire.maxFrame else { throw .tooLarge }
            var out = bytes
            out[0] = UInt8(length >> 24)
            out[1] = UInt8(length >> 16 & 0xFF)
            out[2] = UInt8(length >> 8 & 0xFF)
            out[3] = UInt8(length & 0xFF)
            return out
        }
    }

    /// Reads what `Writer` wrote; every length is checked against the bytes there are.
    public struct Reader {
        let bytes: [UInt8]
        var offset = 0

        public init(_ bytes: [UInt8]) { self.bytes = bytes }

        public mutating func byte() throws(AuthWireError) -> UInt8 {
            guard offset < bytes.count else { throw .malformed }
            defer { offset += 1 }
            return bytes[offset]
        }

        public mutating func u16() throws(AuthWireError) -> UInt16 {
            UInt16(try byte()) << 8 | UInt16(try byte())
        }

        public mutating func u32() throws(AuthWireError) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        public mutating func u64() throws(AuthWireError) -> UInt64 {
            UInt64(try u32()) << 32 | UInt64(try u32())
        }

        /// At most `limit` bytes.
        public mutating func longBlob(limit: Int) throws(AuthWireError) -> [UInt8] {
            let length = Int(try u32())
            guard length <= limit else { throw .tooLarge }
            guard bytes.count - offset >= length else { throw .malformed }
            defer { offset += length }
            return Array(bytes[offset..<offset + length])
        }

        public mutating func optionalString() throws(AuthWireError) -> String? {
            switch try byte() {
            case 0: return nil
            case 1: return try string()
            default: throw .malformed
            }
        }

        public mutating func string() throws(AuthWireError) -> String {
            let length = Int(try u16())
            guard length <= AuthWire.maxString else { throw .tooLarge }
            guard bytes.count - offset >= length else { throw .malformed }
            defer { offset += length }
            guard let text = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
                throw .malformed
            }
            return text
        }

        mutating func blob() throws(AuthWireError) -> [UInt8] {
            let length = Int(try u16())
            guard length <= AuthWire.maxString else { throw .tooLarge }
            guard bytes.count - offset >= length else { throw .malformed }
            defer { offset += length }
            return Array(bytes[offset..<offset + length])
        }

        mutating func authRequest() throws(AuthWireError) -> AuthRequest {
            let user = try string(), password = try string(), mechanism = try string()
            let service = try string(), remoteIP = try string(), localIP = try string()
            let sessionID = try string()
            let flags = try byte()
            guard flags <= 3 else { throw .malformed }
            var request = AuthRequest(
                user: user, password: password, mechanism: mechanism, service: service, remoteIP: remoteIP,
                localIP: localIP, secured: flags & 1 == 1, sessionID: sessionID)
            request.certificateVerified = flags & 2 == 2
            return request
        }

        public mutating func result() throws(AuthWireError) -> AuthResult {
            let status = try byte()
            guard status == 0 else {
                guard let failure = AuthWire.failureCodes.first(where: { $0.1 == status })?.0 else { throw .malformed }
                return .failure(failure)
            }
            let user = try string()
            let uid = try u32(), gid = try u32()
            let home = try string()
            let count = Int(try u16())
            guard count <= AuthWire.maxExtraFields else { throw .tooLarge }
            var fields: [String: String] = [:]
            for _ in 0..<count {
                let key = try string()
                guard fields[key] == nil else { throw .malformed }
                fields[key] = try string()
            }
            return .success(AuthenticatedUser(user: user, uid: uid, gid: gid, home: home, extraFields: fields))
        }

        public func end() throws(AuthWireError) {
            guard offset == bytes.count else { throw .malformed }
        }
    }
}

public enum AuthWireError: Error, Sendable, Equatable {
    /// Truncated, trailing bytes, unknown kind or status, invalid UTF-8, a duplicate field.
    case malformed
    /// A frame, string or field count over its bound.
    case tooLarge
}
