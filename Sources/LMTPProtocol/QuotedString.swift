extension Collection<UInt8> {
    /// The indices of the bytes outside any RFC 5321 §4.1.2 `Quoted-string`: the quotes themselves and everything
    /// between them (a quoted-pair's `\"` included) are left out.
    func indicesOutsideQuotes() -> [Index] {
        var outside: [Index] = []
        var quoted = false
        var escaped = false
        for index in indices {
            let byte = self[index]
            if escaped {
                escaped = false
            } else if quoted {
                if byte == ASCII.backslash { escaped = true } else if byte == ASCII.dquote { quoted = false }
            } else if byte == ASCII.dquote {
                quoted = true
            } else {
                outside.append(index)
            }
        }
        return outside
    }
}
