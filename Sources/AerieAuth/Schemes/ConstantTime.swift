/// Comparison whose time does not depend on where inputs differ, so digests cannot be guessed byte by byte.
enum ConstantTime {
    static func equals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        // Length is not secret (it is fixed per scheme); contents are.
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
