extension String {
    /// Text for one protocol reply line: CR, LF and NUL become spaces, so a client-chosen text can never end the
    /// line early or inject another.
    public var singleLine: String {
        guard utf8.contains(where: Self.breaksLine) else { return self }
        return String(decoding: utf8.map { Self.breaksLine($0) ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    private static func breaksLine(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") || byte == 0
    }
}
