/// The UTF-8 bytes of `text`; fixtures are written as Swift strings with `\r\n` spelt out.
public func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A deterministic generator so "random" chunkings are the same on every run.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Cuts `input` into chunks of the given sizes (cycled), as a peer's writes may arrive.
public func chunks(_ input: [UInt8], sizes: [Int]) -> [[UInt8]] {
    var result: [[UInt8]] = []
    var offset = 0
    var turn = 0
    while offset < input.count {
        let end = min(input.count, offset + max(1, sizes[turn % sizes.count]))
        result.append(Array(input[offset..<end]))
        offset = end
        turn += 1
    }
    return result
}
