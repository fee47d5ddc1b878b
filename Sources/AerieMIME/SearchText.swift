extension ParsedMessage {
    /// Text for SEARCH TEXT / BODY / HEADER (RFC 9051 §6.4.4): header fields with encoded words decoded, and the
    /// text/* parts (and encapsulated messages' headers) content-transfer-decoded and converted to UTF-8.
    /// Case folding is the caller's job.
    public func searchableText(headers: Bool, body: Bool) -> String {
        var out = ""
        if headers { appendHeaders(0, into: &out) }
        guard body else { return out }
        var stack = [0]
        while let i = stack.popLast() {
            let p = parts[i]
            switch p.kind {
            case .multipart:
                stack += p.children.reversed()
            case .rfc822:
                if let c = p.children.first {
                    appendHeaders(c, into: &out)
                    stack.append(c)
                }
            case .leaf:
                let data = PartData(part: p, in: crlfBytes)
                if let ct = data.contentType, !ct.isText { continue }
                let raw = Array(crlfBytes[p.bodyStart..<p.bodyEnd])
                let decoded = TransferDecoding.decode(raw, encoding: data.encoding) ?? raw
                let charset = data.contentType?.param("charset").map { ASCII.string($0) } ?? "us-ascii"
                out += Charsets.decode(decoded, charset: charset) ?? Charsets.text(decoded)
                out += "\n"
            }
        }
        return out
    }

    private func appendHeaders(_ index: Int, into out: inout String) {
        for f in parts[index].fields {
            out += ASCII.string(f.name(in: crlfBytes))
            out += ": "
            out += EncodedWords.decode(f.value(in: crlfBytes))
            out += "\n"
        }
    }
}
