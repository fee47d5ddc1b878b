import AerieCore

/// A server reply (RFC 5321 §4.2), with an enhanced status code on every line (RFC 2034 §3, RFC 3463).
///
/// Multi-line form: `250-2.0.0 first`, …, `250 2.0.0 last` (RFC 5321 §4.2.1). Texts are made single-line.
public struct LMTPReply: Sendable, Equatable, Codable {
    public var code: Int
    /// `class.subject.detail` (RFC 3463 §2), nil for replies that carry none (greeting, LHLO).
    public var enhanced: String?
    public var text: [String]

    public init(code: Int, enhanced: String?, text: [String]) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
    }

    public init(code: Int, enhanced: String?, _ text: String) {
        self.init(code: code, enhanced: enhanced, text: [text])
    }

    /// The wire form, CRLF-terminated; no text gives one line with the code alone.
    public var bytes: [UInt8] {
        let lines = text.isEmpty ? [""] : text
        let codeText = String(max(100, min(599, code)))
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            var content = enhanced.map { [$0] } ?? []
            if !line.isEmpty { content.append(line.singleLine) }
            out.append(contentsOf: codeText.utf8)
            // RFC 5321 §4.2: `Reply-code [ SP textstring ]` on the last line, `Reply-code "-" …` before it.
            if index < lines.count - 1 {
                out.append(UInt8(ascii: "-"))
            } else if !content.isEmpty {
                out.append(ASCII.space)
            }
            out.append(contentsOf: content.joined(separator: " ").utf8)
            out.append(contentsOf: [ASCII.cr, ASCII.lf])
        }
        return out
    }
}

/// The LHLO reply (RFC 2033 §4.1, RFC 5321 §4.1.1.1): the host name, then one extension per line.
public struct LMTPCapabilities: Sendable, Equatable {
    public var hostname: String
    /// RFC 1870 §4 `SIZE n`; nil for `SIZE` without a limit, 0 is also sent as a bare `SIZE`.
    public var maxMessageSize: Int?
    /// RFC 3030 §2 `CHUNKING`.
    public var chunking: Bool
    /// RFC 3030 §3 `BINARYMIME` (only with CHUNKING): offer it only when storage keeps binary bodies as sent.
    public var binaryMIME: Bool
    /// RFC 6531 §3.1 `SMTPUTF8`.
    public var smtpUTF8: Bool
    /// RFC 3207 §4 `STARTTLS`: offered only before TLS.
    public var starttls: Bool

    public init(
        hostname: String, maxMessageSize: Int?, chunking: Bool = true, binaryMIME: Bool = false, smtpUTF8: Bool = false,
        starttls: Bool = false
    ) {
        self.hostname = hostname
        self.maxMessageSize = maxMessageSize
        self.chunking = chunking
        self.binaryMIME = binaryMIME
        self.smtpUTF8 = smtpUTF8
        self.starttls = starttls
    }

    /// The extension keywords: RFC 2920 PIPELINING, RFC 2034 ENHANCEDSTATUSCODES, RFC 6152 8BITMIME, RFC 1870 SIZE,
    /// then the flag-driven ones.
    public var keywords: [String] {
        var keywords = ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME"]
        if let maxMessageSize, maxMessageSize > 0 { keywords.append("SIZE \(maxMessageSize)") } else { keywords.append("SIZE") }
        if chunking { keywords.append("CHUNKING") }
        if chunking, binaryMIME { keywords.append("BINARYMIME") }
        if smtpUTF8 { keywords.append("SMTPUTF8") }
        if starttls { keywords.append("STARTTLS") }
        return keywords
    }

    /// `250-hostname` then `250-KEYWORD` lines; no enhanced codes (RFC 2034 §3 exempts the LHLO reply).
    public var reply: LMTPReply { LMTPReply(code: 250, enhanced: nil, text: [hostname] + keywords) }
}
