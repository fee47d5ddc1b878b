internal import Crypto

/// The digests the simple schemes use, all from swift-crypto.
enum DigestAlgorithm: Sendable {
    case md5, sha1, sha256, sha512

    var length: Int {
        switch self {
        case .md5: 16
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        }
    }

    /// Digest of the concatenation of `parts` (password then salt for the salted schemes).
    func digest(_ parts: [UInt8]...) -> [UInt8] {
        switch self {
        case .md5: Self.run(Insecure.MD5(), parts)
        case .sha1: Self.run(Insecure.SHA1(), parts)
        case .sha256: Self.run(SHA256(), parts)
        case .sha512: Self.run(SHA512(), parts)
        }
    }

    private static func run<H: HashFunction>(_ hasher: H, _ parts: [[UInt8]]) -> [UInt8] {
        var hasher = hasher
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }
}
