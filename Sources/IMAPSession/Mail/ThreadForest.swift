/// The threads of a THREAD response (RFC 5256 §4): trees of messages, where a dummy node stands for a message that
/// is not there (a missing parent, or a subject group).
///
/// Every walk over the trees is iterative: a reply chain thousands of messages deep must not exhaust a thread's stack.
struct ThreadForest: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        /// Index into the threaded messages; nil for a dummy.
        var message: Int?
        var children: [Int] = []
        var parent: Int?
    }

    var nodes: [Node] = []
    var roots: [Int] = []

    mutating func addNode(message: Int?) -> Int {
        nodes.append(Node(message: message))
        return nodes.count - 1
    }

    func isDummy(_ node: Int) -> Bool { nodes[node].message == nil }

    /// Nodes under `roots`, every node after all of its descendants.
    func postOrder() -> [Int] {
        var order: [Int] = []
        var stack = roots
        while let node = stack.popLast() {
            order.append(node)
            stack += nodes[node].children
        }
        return order.reversed()
    }

    /// RFC 5256 §5 thread-list per root: `(1 2 (3)(4 5))`, dummies as nested lists without a number.
    /// `number` gives the sequence number or UID of a message index.
    func encode(_ number: (Int) -> UInt32) -> String {
        enum Step {
            case node(Int, wrapped: Bool)
            case text(String)
        }
        var out = "THREAD"
        if !roots.isEmpty { out += " " }
        var stack: [Step] = roots.reversed().map { .node($0, wrapped: true) }
        while let step = stack.popLast() {
            switch step {
            case .text(let text):
                out += text
            case .node(let index, let wrapped):
                let node = nodes[index]
                if wrapped { out += "(" }
                var next: [Step] = []
                if let message = node.message {
                    out += String(number(message))
                    if !node.children.isEmpty { next.append(.text(" ")) }
                }
                // thread-members continue a single child inline; thread-nested needs two or more lists.
                if node.children.count == 1 {
                    next.append(.node(node.children[0], wrapped: false))
                } else {
                    next += node.children.map { .node($0, wrapped: true) }
                }
                if wrapped { next.append(.text(")")) }
                stack += next.reversed()
            }
        }
        return out
    }
}

/// RFC 5256 §4 THREAD=ORDEREDSUBJECT: messages grouped by base subject; in each group the first sent message is the
/// root and the others are its children in sent order; groups ordered by their first message's sent date.
enum OrderedSubjectThreader {
    static func thread(_ messages: [SortMessage]) -> ThreadForest {
        let order = messages.indices.sorted { a, b in
            let bySubject = MessageSorter.compare(messages[a].subject, messages[b].subject)
            if bySubject != 0 { return bySubject < 0 }
            return MessageSorter.sentBefore(messages[a], messages[b])
        }
        var forest = ThreadForest()
        var firstMessage: [Int: Int] = [:]
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, messages[order[end]].subject == messages[order[start]].subject { end += 1 }
            let root = forest.addNode(message: order[start])
            for index in order[(start + 1)..<end] {
                let child = forest.addNode(message: index)
                forest.nodes[child].parent = root
                forest.nodes[root].children.append(child)
            }
            forest.roots.append(root)
            firstMessage[root] = order[start]
            start = end
        }
        forest.roots.sort { a, b in
            guard let x = firstMessage[a], let y = firstMessage[b] else { return false }
            return MessageSorter.sentBefore(messages[x], messages[y])
        }
        return forest
    }
}
