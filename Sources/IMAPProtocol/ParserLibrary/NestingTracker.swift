/// Bounds how deep nested grammar constructs may go, so hostile input cannot exhaust the stack.
struct NestingTracker: Equatable {
    /// Deep enough for any real BODYSTRUCTURE or SEARCH program, far below stack trouble.
    static let defaultMaximumDepth = 32
    static let tooDeepMessage = "Too deep nesting"

    let maximumDepth: Int
    private(set) var depth = 0

    init(maximumDepth: Int = NestingTracker.defaultMaximumDepth) {
        self.maximumDepth = maximumDepth
    }

    mutating func enter() throws(ParseFailure) {
        guard depth < maximumDepth else { throw .syntax(Self.tooDeepMessage) }
        depth += 1
    }

    mutating func leave() {
        depth -= 1
    }
}
