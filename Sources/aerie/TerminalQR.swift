import CQRencode

/// A QR code (libqrencode) drawn with Unicode half blocks, two module rows per line, for `aerie adm totp enroll`.
/// Light modules are the drawn ones (text colour on a dark terminal), with the 4-module quiet zone ISO/IEC 18004
/// asks for.
enum TerminalQR {
    static let quietZone = 4

    /// The code's lines; nil when libqrencode cannot encode the text.
    static func render(_ text: String) -> [String]? {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard let data = code.pointee.data else { return nil }
        // libqrencode: bit 0 of each module's byte is 1 for a dark module.
        let modules = (0..<width * width).map { data[$0] & 1 == 1 }
        return lines(dark: modules, width: width)
    }

    /// `dark`: row-major modules of a `width`×`width` code.
    static func lines(dark: [Bool], width: Int) -> [String] {
        let size = width + 2 * quietZone
        func isDark(_ x: Int, _ y: Int) -> Bool {
            let (column, row) = (x - quietZone, y - quietZone)
            guard column >= 0, row >= 0, column < width, row < width else { return false }
            return dark[row * width + column]
        }
        return stride(from: 0, to: size, by: 2).map { y in
            String((0..<size).map { x -> Character in
                switch (isDark(x, y), isDark(x, y + 1)) {
                case (false, false): "█"
                case (false, true): "▀"
                case (true, false): "▄"
                case (true, true): " "
                }
            })
        }
    }
}
