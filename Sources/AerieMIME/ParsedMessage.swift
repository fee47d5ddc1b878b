/// Bounds on the work spent on one message; beyond them the rest is treated as an opaque body.
public struct MIMELimits: Sendable {
    /// Nested multipart / message/rfc822 levels.
    public var maxDepth: Int
    /// Total MIME parts.
    public var maxParts: Int
    /// Bytes in one header block.
    public var maxHeaderBytes: Int
    /// Fields in one header block.
    public var maxHeaderFields: Int

    public init(maxDepth: Int = 32, maxParts: Int = 10_000, maxHeaderBytes: Int = 1 << 20, maxHeaderFields: Int = 10_000) {
        self.maxDepth = max(0, maxDepth)
        self.maxParts = max(1, maxParts)
        self.maxHeaderBytes = max(0, maxHeaderBytes)
        self.maxHeaderFields = max(0, maxHeaderFields)
    }
}

/// A message split into its MIME tree (RFC 2045/2046), with what IMAP FETCH and SEARCH need.
public struct ParsedMessage: Sendable {
    /// The whole message with CRLF line endings (RFC 5322 §2.1); all offsets index it.
    public let crlfBytes: [UInt8]
    let parts: [MIMEPart]
    let limits: MIMELimits

    /// Parses raw bytes (LF or CRLF). Never fails: malformed input degrades as Dovecot does.
    public init(bytes: [UInt8], limits: MIMELimits = .init()) {
        crlfBytes = ASCII.crlfNormalized(bytes)
        self.limits = limits
        var parser = MessageParser(crlfBytes, limits: limits)
        parser.run()
        parts = parser.parts
    }

    /// Number of MIME parts in the tree (the message itself included).
    public var partCount: Int { parts.count }

    /// RFC 9051 §7.5.2 ENVELOPE in IMAP syntax, as bytes (literals may carry 8-bit header text).
    public func envelopeBytes() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "(")]
        EnvelopeData(fields: parts[0].fields, in: crlfBytes).write(into: &out)
        out.append(UInt8(ascii: ")"))
        return out
    }

    /// RFC 9051 §7.5.2 ENVELOPE; lossy for non-UTF-8 8-bit headers, prefer envelopeBytes() on the wire.
    public func envelope() -> String { ASCII.string(envelopeBytes()) }

    /// RFC 9051 §7.5.2 BODY (extended = false) or BODYSTRUCTURE (true), as bytes.
    public func bodyStructureBytes(extended: Bool) -> [UInt8] {
        var out = [UInt8]()
        BodyStructureWriter(message: self, extended: extended).write(0, into: &out)
        return out
    }

    /// RFC 9051 §7.5.2 BODY / BODYSTRUCTURE; lossy for non-UTF-8 8-bit values, prefer bodyStructureBytes(extended:).
    public func bodyStructure(extended: Bool) -> String { ASCII.string(bodyStructureBytes(extended: extended)) }

    /// Raw unfolded values of every top-level header field with this name, in message order (RFC 5322 §2.2.3).
    public func headerValue(_ name: String) -> [String] {
        parts[0].fields.filter { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), name) }
            .map { ASCII.string($0.value(in: crlfBytes)) }
    }

    /// Like headerValue, with RFC 2047 encoded words decoded and 8-bit text read as UTF-8 (else Latin-1).
    public func decodedHeaderValue(_ name: String) -> [String] {
        parts[0].fields.filter { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), name) }
            .map { EncodedWords.decode($0.value(in: crlfBytes)) }
    }

    /// The Date: header as Unix seconds (RFC 5322 §3.3, obsolete forms included); nil if missing or unparsable.
    public var date: Int64? {
        guard let v = parts[0].fields.first(where: { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), "Date") }) else {
            return nil
        }
        return DateParser.parse(v.value(in: crlfBytes))
    }
}
