@testable import AerieAuth
import Testing

/// Issue 11: the one-time tokens the master redeems for a handed-over login's identity.
@Suite struct LoginTokensTests {
    static let alice = AuthenticatedUser(
        user: "alice", uid: 1501, gid: 1501, home: "/home/alice", extraFields: ["mail": "maildir:~/Maildir"])
    static let bob = AuthenticatedUser(user: "bob", uid: 1502, gid: 1502, home: "/home/bob", extraFields: [:])

    @Test func aTokenIsRedeemedOnceForItsOwnUser() {
        var tokens = LoginTokens()
        let start = ContinuousClock.now
        let forAlice = tokens.issue(for: Self.alice, now: start)
        let forBob = tokens.issue(for: Self.bob, now: start)
        #expect(forAlice != forBob)
        #expect(forAlice.count == 64)
        #expect(tokens.redeem(forBob, now: start) == Self.bob)
        #expect(tokens.redeem(forAlice, now: start) == Self.alice)
        // Replayed.
        #expect(tokens.redeem(forAlice, now: start) == nil)
        #expect(tokens.count == 0)
    }

    /// 64 lowercase hex digits, every digit in use, no two tokens alike (256 random bits each).
    @Test func tokensAreRandomLowercaseHex() {
        let tokens = (0..<200).map { _ in LoginTokens.randomHex() }
        #expect(Set(tokens).count == tokens.count)
        #expect(tokens.allSatisfy { $0.utf8.count == 64 && $0.allSatisfy { "0123456789abcdef".contains($0) } })
        // 12,800 digits: a digit never drawn would mean bytes are not all used (chance ~16 * (15/16)^12800).
        #expect(Set(tokens.joined()).count == 16)
        // Both nibbles of every byte vary: no position is stuck at one digit over 200 tokens.
        for position in 0..<64 {
            let column = Set(tokens.map { Array($0.utf8)[position] })
            #expect(column.count > 1)
        }
    }

    @Test func aForgedOrExpiredTokenIsRefused() {
        var tokens = LoginTokens(lifetime: .seconds(30))
        let start = ContinuousClock.now
        let token = tokens.issue(for: Self.alice, now: start)
        #expect(tokens.redeem(String(repeating: "0", count: 64), now: start) == nil)
        #expect(tokens.redeem("", now: start) == nil)
        #expect(tokens.redeem(token, now: start + .seconds(31)) == nil)
        // Expired tokens go when the next is issued.
        _ = tokens.issue(for: Self.bob, now: start)
        _ = tokens.issue(for: Self.bob, now: start + .seconds(60))
        #expect(tokens.count == 1)
    }

    @Test func theTableIsBoundedOldestFirst() {
        var tokens = LoginTokens(capacity: 3)
        let start = ContinuousClock.now
        let issued = (0..<5).map { _ in tokens.issue(for: Self.bob, now: start) }
        #expect(tokens.count == 3)
        #expect(tokens.redeem(issued[0], now: start) == nil)
        #expect(tokens.redeem(issued[1], now: start) == nil)
        #expect(tokens.redeem(issued[4], now: start) == Self.bob)
    }

    @Test func theTokenFieldNeverComesBackFromARedeem() {
        var tokens = LoginTokens()
        var user = Self.alice
        user.extraFields[LoginTokens.field] = "smuggled"
        let token = tokens.issue(for: user, now: .now)
        #expect(tokens.redeem(token, now: .now)?.extraFields[LoginTokens.field] == nil)
    }
}
