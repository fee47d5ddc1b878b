import IMAPProtocol
import Testing

@testable import IMAPSession

/// Builds SortMessages from header text, as the session does from message files.
struct SortFixture {
    var ids = MessageIDTable()
    var messages: [SortMessage] = []

    mutating func add(_ header: String, arrival: Int64 = 0, size: Int = 100) {
        let sequence = UInt32(messages.count + 1)
        let all: SortFields = [.sentDate, .subject, .from, .to, .cc, .displayFrom, .displayTo, .references]
        messages.append(
            SortMessage(
                sequence: sequence, uid: sequence * 10, arrival: arrival, size: size,
                header: Array((header + "\r\n\r\nbody\r\n").utf8), fields: all, ids: &ids))
    }

    func sorted(_ criteria: String) throws -> [UInt32] {
        // Criteria through the real parser, as a client sends them.
        let command = try IMAPCommandParser.parse(Array("t SORT (\(criteria)) UTF-8 ALL".utf8))
        guard case .sort(_, let parsed, _, _, _) = command.kind else { return [] }
        return MessageSorter.sort(messages, by: parsed).map(\.sequence)
    }

    func references() -> String { ReferencesThreader.thread(messages).encode { messages[$0].sequence } }
    func orderedSubject() -> String { OrderedSubjectThreader.thread(messages).encode { messages[$0].sequence } }
}

@Suite struct SortTests {
    /// Five messages whose every key orders them differently (worked out by hand in the comments).
    static func fixture() -> SortFixture {
        var f = SortFixture()
        // 1: sent 2023-01-02 10:00Z, from bob ("Aaron Zoe"), to carol, no cc.
        f.add(
            "From: \"Aaron Zoe\" <bob@x>\r\nTo: carol@x\r\nSubject: Re: beta\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000",
            arrival: 500, size: 300)
        // 2: sent 10:00Z as well (12:00 +0200), from alice (no name), to zed ("Bob"), cc mike.
        f.add(
            "From: alice@x\r\nTo: Bob <zed@x>\r\nCc: mike@x\r\nSubject: alpha\r\nDate: Mon, 2 Jan 2023 12:00:00 +0200",
            arrival: 100, size: 200)
        // 3: sent 2023-01-02 04:00Z (23:00 -0500 the day before), from Alice ("Carl"), to amy, cc Dave.
        f.add(
            "From: Carl <Alice@y>\r\nTo: amy@x\r\nCc: Dave@x\r\nSubject: Beta\r\nDate: Sun, 1 Jan 2023 23:00:00 -0500",
            arrival: 300, size: 100)
        // 4: no header fields at all: sent date is INTERNALDATE 50.
        f.add("X-Nothing: here", arrival: 50, size: 400)
        // 5: unparsable Date (INTERNALDATE, November 2023), To is an empty group.
        f.add(
            "From: =?UTF-8?Q?=C3=89mile?= <emile@x>\r\nTo: undisclosed-recipients:;\r\nSubject: Fwd: gamma\r\n"
                + "Date: someday",
            arrival: 1_700_000_000, size: 200)
        return f
    }

    @Test func eachKey() throws {
        let f = Self.fixture()
        #expect(try f.sorted("ARRIVAL") == [4, 2, 3, 1, 5])
        #expect(try f.sorted("SIZE") == [3, 2, 5, 1, 4])
        #expect(try f.sorted("DATE") == [4, 3, 1, 2, 5])
        #expect(try f.sorted("SUBJECT") == [4, 2, 1, 3, 5])
        #expect(try f.sorted("FROM") == [4, 2, 3, 1, 5])
        // 5's To is a group: its name is the first address's addr-mailbox.
        #expect(try f.sorted("TO") == [4, 3, 1, 5, 2])
        #expect(try f.sorted("CC") == [1, 4, 5, 3, 2])
        #expect(try f.sorted("DISPLAYFROM") == [4, 1, 2, 3, 5])
        #expect(try f.sorted("DISPLAYTO") == [4, 3, 2, 1, 5])
    }

    /// RFC 5256 §3 / RFC 5957 §2 on the first address as ENVELOPE lists it: a group start counts with its name as
    /// addr-mailbox (imaptest's sort-addresses and sort-display-to, as Dovecot answers them).
    @Test func aGroupNameIsTheFirstAddress() throws {
        var f = SortFixture()
        f.add(
            "From: user2@domain2.org\r\nTo: foo bar <user2@domain2.org>\r\nCc: user2@domain2.org (foo bar)", arrival: 0)
        f.add("From: user2@domain1.org\r\nTo: user2@domain1.org\r\nCc: user2: blah@domain1.org;", arrival: 1)
        f.add("From: user1@domain1.org\r\nTo: user1@domain1.org\r\nCc: user1@domain1.org", arrival: 2)
        #expect(try f.sorted("CC") == [3, 1, 2])
        #expect(try f.sorted("CC REVERSE ARRIVAL") == [3, 2, 1])

        var d = SortFixture()
        for to in [
            "foo bar <a@b.c>", "b@c.d", "d", "=?iso-8859-1?q?foo_aar?= <e@f.g>", "=?iso-8859-1?q?foo_car?= <f@g.h>",
            "a: xx@xx.org, yy@yy.org;", "z: aa@aa.org, bb@bb.org;", "empty:;",
        ] {
            d.add("To: \(to)")
        }
        #expect(try d.sorted("DISPLAYTO") == [6, 2, 3, 8, 4, 1, 5, 7])
        #expect(try d.sorted("REVERSE DISPLAYTO") == [7, 5, 1, 4, 8, 3, 2, 6])
    }

    @Test func reverseFlipsOneKeyButNotTheSequenceTieBreak() throws {
        let f = Self.fixture()
        #expect(try f.sorted("REVERSE ARRIVAL") == [5, 1, 3, 2, 4])
        #expect(try f.sorted("REVERSE SIZE") == [4, 1, 2, 5, 3])
        #expect(try f.sorted("REVERSE DATE") == [5, 1, 2, 3, 4])
    }

    @Test func laterKeysBreakTies() throws {
        let f = Self.fixture()
        #expect(try f.sorted("SUBJECT DATE") == [4, 2, 3, 1, 5])
        #expect(try f.sorted("SUBJECT REVERSE DATE") == [4, 2, 1, 3, 5])
        #expect(try f.sorted("CC REVERSE ARRIVAL") == [5, 1, 4, 3, 2])
    }

    @Test func keysAreSmallAndFolded() {
        let f = Self.fixture()
        #expect(f.messages[0].from == Array("BOB".utf8))
        #expect(f.messages[0].displayFrom == Array("AARON ZOE".utf8))
        #expect(f.messages[1].displayFrom == Array("ALICE@X".utf8))
        #expect(f.messages[4].displayFrom == Array("ÉMILE".utf8))
        #expect(f.messages[2].subject == Array("BETA".utf8))
        #expect(f.messages[0].isReplyOrForward && !f.messages[2].isReplyOrForward)
        #expect(f.messages[3].sentDate == 50)
        #expect(f.messages[0].sentDate == 1_672_653_600)
        #expect(f.messages[1].sentDate == f.messages[0].sentDate)
    }

    @Test func aHugeReferencesHeaderIsCapped() {
        var f = SortFixture()
        let ids = (1...5_000).map { "<r\($0)@x>" }.joined(separator: " ")
        f.add("Message-ID: <me@x>\r\nReferences: \(ids)\r\nIn-Reply-To: <other@x>")
        #expect(f.messages[0].references.count == SortMessage.referenceLimit)
        #expect(f.ids.count == SortMessage.referenceLimit + 1)
        var g = SortFixture()
        g.add("Message-ID: <me@x>\r\nReferences: <r1@x>\r\n <r2@x>")
        g.add("Message-ID: <you@x>\r\nReferences: no ids here\r\nIn-Reply-To: <r2@x> <r1@x>")
        #expect(g.messages[0].references == [1, 2])
        #expect(g.messages[1].references == [2])
    }
}

@Suite struct ThreadTests {
    @Test func encodingFollowsTheGrammar() {
        // RFC 5256 §4's example: (2)(3 6 (4 23)(44 7 96)).
        var forest = ThreadForest()
        func node(_ number: Int, _ children: [Int]) -> Int {
            let index = forest.addNode(message: number)
            for child in children {
                forest.nodes[child].parent = index
                forest.nodes[index].children.append(child)
            }
            return index
        }
        let two = node(2, [])
        let branch = node(6, [node(4, [node(23, [])]), node(44, [node(7, [node(96, [])])])])
        forest.roots = [two, node(3, [branch])]
        #expect(forest.encode { UInt32($0) } == "THREAD (2)(3 6 (4 23)(44 7 96))")
        let dummy = forest.addNode(message: nil)
        for child in [node(8, []), node(9, [])] {
            forest.nodes[child].parent = dummy
            forest.nodes[dummy].children.append(child)
        }
        forest.roots = [dummy]
        #expect(forest.encode { UInt32($0) } == "THREAD ((8)(9))")
        #expect(ThreadForest().encode { UInt32($0) } == "THREAD")
    }

    @Test func orderedSubject() {
        var f = SortFixture()
        f.add("Subject: Re: sports\r\nDate: 3 Jan 2023 00:00:00 +0000")  // 1
        f.add("Subject: music\r\nDate: 2 Jan 2023 00:00:00 +0000")  // 2
        f.add("Subject: Sports\r\nDate: 1 Jan 2023 00:00:00 +0000")  // 3
        f.add("Subject: sports (fwd)\r\nDate: 5 Jan 2023 00:00:00 +0000")  // 4
        f.add("Subject: Re: music\r\nDate: 4 Jan 2023 00:00:00 +0000")  // 5
        f.add("Subject: chess\r\nDate: 6 Jan 2023 00:00:00 +0000")  // 6
        f.add("Subject: sports\r\nDate: 3 Jan 2023 00:00:00 +0000")  // 7: same date as 1, later in the mailbox
        // sports: 3 (Jan 1) first, then 1 and 7 (Jan 3, by sequence), 4; music: 2, 5; chess: 6.
        #expect(f.orderedSubject() == "THREAD (3 (1)(7)(4))(2 5)(6)")
        #expect(SortFixture().orderedSubject() == "THREAD")
    }

    /// Every rule of RFC 5256 §4 REFERENCES in one mailbox; the tree is worked out step by step below.
    @Test func references() {
        var f = SortFixture()
        f.add("Message-ID: <a@x>\r\nSubject: topic\r\nDate: 1 Jan 2023 00:01:00 +0000")  // 1
        f.add("Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: Re: topic\r\nDate: 1 Jan 2023 00:02:00 +0000")  // 2
        f.add(  // 3: parent is missing, a dummy under a
            "Message-ID: <c@x>\r\nReferences: <a@x> <missing@x>\r\nSubject: Re: topic\r\n"
                + "Date: 1 Jan 2023 00:03:00 +0000")
        f.add(  // 4: In-Reply-To only: the same dummy
            "Message-ID: <d@x>\r\nIn-Reply-To: <missing@x>\r\nSubject: Re: topic\r\nDate: 1 Jan 2023 00:04:00 +0000")
        f.add("Message-ID: <b@x>\r\nSubject: other\r\nDate: 1 Jan 2023 00:05:00 +0000")  // 5: duplicate of 2's id
        f.add(  // 6: two missing ancestors, both pruned
            "Message-ID: <e@x>\r\nReferences: <gone1@x> <gone2@x>\r\nSubject: Re: lonely\r\n"
                + "Date: 1 Jan 2023 00:06:00 +0000")
        f.add("Subject: Fwd: other\r\nDate: 1 Jan 2023 00:07:00 +0000")  // 7: no Message-ID
        f.add("Message-ID: <f@x>\r\nSubject: lonely\r\nDate: 1 Jan 2023 00:00:00 +0000")  // 8: sent first
        f.add("Message-ID: <g@x>\r\nReferences: <g@x>\r\nSubject: solo\r\nDate: 1 Jan 2023 00:09:00 +0000")  // 9
        f.add("Message-ID: <h@x>\r\nSubject: Solo\r\nDate: 1 Jan 2023 00:10:00 +0000")  // 10
        // Step 1: a(1) -> 2, missing -> 3, 4; gone1 -> gone2 -> 6; 5, 7, 8, 9 (self-reference ignored), 10 alone.
        // Step 3: missing is spliced under 1; gone1/gone2 go and 6 becomes a root.
        // Step 4: roots by date: 8, 1, 5, 6, 7, 9, 10.
        // Step 5: 6 (a reply) joins 8, 7 (a forward) joins 5, 9 and 10 (both originals) go under a new dummy.
        // Step 6: 1's children by date: 2, 3, 4.
        #expect(f.references() == "THREAD (8 6)(1 (2)(3)(4))(5 7)((9)(10))")
    }

    @Test func referencesNeverMakeALoop() {
        var f = SortFixture()
        f.add("Message-ID: <x@l>\r\nReferences: <y@l>\r\nDate: 1 Jan 2023 00:01:00 +0000")
        // y's parent would be x, which is already y's child: the link is not made.
        f.add("Message-ID: <y@l>\r\nReferences: <x@l>\r\nDate: 1 Jan 2023 00:02:00 +0000")
        #expect(f.references() == "THREAD (2 1)")
    }

    @Test func theLastReferenceReplacesALinkFromATruncatedHeader() {
        var f = SortFixture()
        // 1 claims <m2> is a child of <wrong>.
        f.add("Message-ID: <m1@x>\r\nReferences: <wrong@x> <m2@x>\r\nSubject: one\r\nDate: 1 Jan 2023 00:05:00 +0000")
        // 2 (<m2>) itself says its parent is <m0>: that link wins.
        f.add("Message-ID: <m2@x>\r\nReferences: <m0@x>\r\nSubject: two\r\nDate: 1 Jan 2023 00:01:00 +0000")
        f.add("Message-ID: <m3@x>\r\nReferences: <wrong@x>\r\nSubject: three\r\nDate: 1 Jan 2023 00:02:00 +0000")
        // Otherwise it would be ((2 1)(3)) under <wrong>.
        #expect(f.references() == "THREAD (2 1)(3)")
    }

    /// RFC 5256 §4 (1)(B): the message's old parent (from an earlier References) goes even when the new link
    /// would make a loop (imaptest's thread group, as Dovecot answers it).
    @Test func aConflictingParentGoesEvenWhenTheNewLinkWouldLoop() {
        var f = SortFixture()
        f.add("Message-ID: <a@b>", arrival: 17 * 3600)
        // <a> becomes <c>'s parent, <c> becomes 2's parent.
        f.add("Message-Id: <b@b>\r\nReferences: <a@b> <c@b>", arrival: 15 * 3600)
        // 3 is <c>: its parent would be 2, its own child; the link to <a> goes all the same.
        f.add("Message-Id: <c@b>\r\nReferences: <b@b>", arrival: 16 * 3600)
        #expect(f.references() == "THREAD (3 2)(1)")
    }

    @Test func aDummyKeepsSeveralChildrenAtTheTop() {
        var f = SortFixture()
        f.add("Message-ID: <a@x>\r\nReferences: <root@x>\r\nSubject: Re: q\r\nDate: 1 Jan 2023 00:02:00 +0000")
        f.add("Message-ID: <b@x>\r\nReferences: <root@x>\r\nSubject: Re: q\r\nDate: 1 Jan 2023 00:01:00 +0000")
        f.add("Message-ID: <c@x>\r\nReferences: <root@x> <b@x>\r\nSubject: Re: q\r\nDate: 1 Jan 2023 00:03:00 +0000")
        #expect(f.references() == "THREAD ((2 3)(1))")
    }

    @Test func aLongChainNeedsNoDeepStack() {
        var f = SortFixture()
        f.add("Message-ID: <m1@x>\r\nSubject: chain\r\nDate: 1 Jan 2023 00:00:00 +0000")
        for n in 2...20_000 {
            f.add(
                "Message-ID: <m\(n)@x>\r\nIn-Reply-To: <m\(n - 1)@x>\r\nSubject: Re: chain\r\nDate: 1 Jan 2023 00:00:00 +0000"
            )
        }
        let expected = "THREAD (" + (1...20_000).map(String.init).joined(separator: " ") + ")"
        #expect(f.references() == expected)
    }
}
