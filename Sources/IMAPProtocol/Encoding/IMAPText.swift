/// Makes server-chosen text safe to put on the wire: response text never contains CR, LF or NUL
/// (RFC 9051 §9: `text = 1*TEXT-CHAR`), so a client-controlled value can never inject a response.
enum IMAPText {
    /// RFC 9051 §9 `text`: CR, LF and NUL become spaces.
    static func text(_ string: String) -> String {
        guard string.utf8.contains(where: isLineBreaking) else { return string }
        return String(decoding: string.utf8.map { isLineBreaking($0) ? ASCII.space : $0 }, as: UTF8.self)
    }

    /// RFC 9051 §9 `resp-text-code` text: also no `]`, which would end the code early.
    static func codeText(_ string: String) -> String {
        let replaced = { (byte: UInt8) in isLineBreaking(byte) || byte == ASCII.closeBracket }
        // Most codes need no change: no copy then (capabilities go out with every greeting and login).
        guard string.utf8.contains(where: replaced) else { return string }
        return String(decoding: string.utf8.map { replaced($0) ? ASCII.space : $0 }, as: UTF8.self)
    }

    /// An atom inside a code (capability names): anything outside ATOM-CHAR (and `]`) is dropped.
    static func atom(_ string: String) -> String {
        if string.utf8.allSatisfy(\.isAtomChar) { return string }
        return String(decoding: string.utf8.filter { $0.isAtomChar }, as: UTF8.self)
    }

    /// Untagged data may carry literals (`{N}` CRLF N octets, from `IMAPString.quotedOrLiteral`);
    /// those pass whole, every other CR, LF or NUL becomes a space.
    static func untaggedData(_ string: String) -> [UInt8] {
        let input = Array(string.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == ASCII.cr, index + 1 < input.count, input[index + 1] == ASCII.lf,
                let marker = LiteralMarker.atEnd(of: input[..<index]), marker.size <= input.count - index - 2
            {
                let end = index + 2 + marker.size
                output.append(contentsOf: input[index..<end].map { $0 == ASCII.nul ? ASCII.space : $0 })
                index = end
                continue
            }
            output.append(isLineBreaking(byte) ? ASCII.space : byte)
            index += 1
        }
        return output
    }

    private static func isLineBreaking(_ byte: UInt8) -> Bool {
        byte == ASCII.cr || byte == ASCII.lf || byte == ASCII.nul
    }
}
