/// RFC 5256 §4 THREAD=REFERENCES: parent/child links from Message-ID, References and In-Reply-To, dummies for
/// missing parents, pruning, grouping of thread roots by base subject, and siblings in sent order.
struct ReferencesThreader {
    private let messages: [SortMessage]
    private var forest = ThreadForest()
    /// Node of each interned Message-ID seen so far (a message, or a dummy until the message turns up).
    private var nodeOfID: [Int32: Int] = [:]

    /// `messages` in mailbox order: the lowest sequence number keeps a duplicated Message-ID.
    static func thread(_ messages: [SortMessage]) -> ThreadForest {
        var threader = ReferencesThreader(messages: messages.sorted { $0.sequence < $1.sequence })
        threader.link()
        threader.forest.roots = threader.forest.nodes.indices.filter { threader.forest.nodes[$0].parent == nil }
        threader.prune()
        threader.sortRoots()
        threader.groupBySubject()
        threader.sortSiblings()
        // Node message indices refer to the mailbox-ordered copy; map them back to the caller's indices.
        let callerIndex = Dictionary(uniqueKeysWithValues: messages.indices.map { (messages[$0].sequence, $0) })
        for node in threader.forest.nodes.indices {
            if let message = threader.forest.nodes[node].message {
                threader.forest.nodes[node].message = callerIndex[threader.messages[message].sequence]
            }
        }
        return threader.forest
    }

    private init(messages: [SortMessage]) {
        self.messages = messages
    }

    // MARK: - Step 1: links

    private mutating func link() {
        for (index, message) in messages.enumerated() {
            let own = ownNode(index, message)
            // (1)(A): each reference is the parent of the next, unless the child already has a parent.
            var previous: Int?
            for id in message.references {
                let current = node(for: id)
                if let parent = previous, forest.nodes[current].parent == nil, canLink(parent: parent, child: current) {
                    attach(current, to: parent)
                }
                previous = current
            }
            // (1)(B): the last reference is this message's parent. A different parent (a truncated References made
            // it) is dropped first, even when the new link would make a loop and is not made either (as Dovecot).
            if forest.nodes[own].parent != previous { detach(own) }
            if let parent = previous, forest.nodes[own].parent == nil, canLink(parent: parent, child: own) {
                attach(own, to: parent)
            }
        }
    }

    /// The node for a message: its Message-ID's node (a dummy until now), or a node of its own when it has no
    /// valid Message-ID or an earlier message already has that id.
    private mutating func ownNode(_ index: Int, _ message: SortMessage) -> Int {
        if let id = message.messageID {
            if let existing = nodeOfID[id] {
                if forest.isDummy(existing) {
                    forest.nodes[existing].message = index
                    return existing
                }
            } else {
                let node = forest.addNode(message: index)
                nodeOfID[id] = node
                return node
            }
        }
        return forest.addNode(message: index)
    }

    private mutating func node(for id: Int32) -> Int {
        if let node = nodeOfID[id] { return node }
        let node = forest.addNode(message: nil)
        nodeOfID[id] = node
        return node
    }

    /// A link must not make a node its own ancestor.
    private func canLink(parent: Int, child: Int) -> Bool {
        if parent == child { return false }
        // A node without children has no descendants: the common case needs no walk.
        if forest.nodes[child].children.isEmpty { return true }
        var ancestor: Int? = parent
        while let current = ancestor {
            if current == child { return false }
            ancestor = forest.nodes[current].parent
        }
        return true
    }

    private mutating func attach(_ child: Int, to parent: Int) {
        forest.nodes[child].parent = parent
        forest.nodes[parent].children.append(child)
    }

    private mutating func detach(_ child: Int) {
        guard let parent = forest.nodes[child].parent else { return }
        forest.nodes[parent].children.removeAll { $0 == child }
        forest.nodes[child].parent = nil
    }

    // MARK: - Step 3: prune dummies

    /// Dummies without children go; a dummy's children take its place, except that a dummy at the top keeps two or
    /// more children under it (they would otherwise become separate threads).
    private mutating func prune() {
        for node in forest.postOrder() {
            var kept: [Int] = []
            for child in forest.nodes[node].children {
                if forest.isDummy(child) {
                    // Already pruned: its children are real messages.
                    for grandchild in forest.nodes[child].children { forest.nodes[grandchild].parent = node }
                    kept += forest.nodes[child].children
                    forest.nodes[child].children = []
                    forest.nodes[child].parent = nil
                } else {
                    kept.append(child)
                }
            }
            forest.nodes[node].children = kept
        }
        var roots: [Int] = []
        for root in forest.roots {
            guard forest.isDummy(root) else {
                roots.append(root)
                continue
            }
            let children = forest.nodes[root].children
            if children.count == 1 {
                forest.nodes[children[0]].parent = nil
                forest.nodes[root].children = []
                roots.append(children[0])
            } else if children.count > 1 {
                roots.append(root)
            }
        }
        forest.roots = roots
    }

    // MARK: - Steps 4 and 6: sent order

    /// The message a node sorts and is named by: itself, or a dummy's first child (after its children are sorted).
    private func representative(_ node: Int) -> Int? {
        var current = node
        while forest.isDummy(current) {
            guard let first = forest.nodes[current].children.first else { return nil }
            current = first
        }
        return forest.nodes[current].message
    }

    private func sentBefore(_ a: Int, _ b: Int) -> Bool {
        guard let x = representative(a) else { return false }
        guard let y = representative(b) else { return true }
        return MessageSorter.sentBefore(messages[x], messages[y])
    }

    /// (4): thread roots by sent date, a dummy by its earliest child.
    private mutating func sortRoots() {
        for root in forest.roots where forest.isDummy(root) { sortChildren(of: root) }
        forest.roots = sortedBySent(forest.roots)
    }

    private mutating func sortChildren(of node: Int) {
        forest.nodes[node].children = sortedBySent(forest.nodes[node].children)
    }

    private func sortedBySent(_ nodes: [Int]) -> [Int] { nodes.sorted { sentBefore($0, $1) } }

    /// (6): every set of siblings by sent date, deepest first so that a dummy's date is its sorted first child's.
    private mutating func sortSiblings() {
        for node in forest.postOrder() where forest.nodes[node].children.count > 1 { sortChildren(of: node) }
        forest.roots = sortedBySent(forest.roots)
    }

    // MARK: - Step 5: subject grouping

    private func subject(of node: Int) -> (key: [UInt8], isReply: Bool)? {
        guard let message = representative(node), !messages[message].subject.isEmpty else { return nil }
        return (messages[message].subject, messages[message].isReplyOrForward)
    }

    /// (5): thread roots with the same base subject are gathered under one root.
    private mutating func groupBySubject() {
        // (B): one root per subject: a dummy before a message, an original before a reply or forward.
        var table: [[UInt8]: Int] = [:]
        for root in forest.roots {
            guard let (key, isReply) = subject(of: root) else { continue }
            guard let holder = table[key] else {
                table[key] = root
                continue
            }
            if !forest.isDummy(holder)
                && (forest.isDummy(root) || (subject(of: holder)?.isReply == true && !isReply))
            {
                table[key] = root
            }
        }
        // (C): merge every other root with its subject's holder.
        var merged = Set<Int>()
        var replaced: [Int: Int] = [:]
        for root in forest.roots {
            guard let (key, isReply) = subject(of: root), let holder = table[key], holder != root else { continue }
            if forest.isDummy(holder) {
                adopt(root, into: holder)
            } else if !forest.isDummy(root) && isReply && subject(of: holder)?.isReply == false {
                attach(root, to: holder)
            } else {
                let dummy = forest.addNode(message: nil)
                attach(holder, to: dummy)
                adopt(root, into: dummy)
                table[key] = dummy
                replaced[holder] = dummy
            }
            merged.insert(root)
        }
        forest.roots = forest.roots.filter { !merged.contains($0) }.map { replaced[$0] ?? $0 }
    }

    /// Puts a node under a dummy; a dummy's children move instead, so dummies never nest.
    private mutating func adopt(_ node: Int, into dummy: Int) {
        if forest.isDummy(node) {
            for child in forest.nodes[node].children { attach(child, to: dummy) }
            forest.nodes[node].children = []
        } else {
            attach(node, to: dummy)
        }
    }
}
