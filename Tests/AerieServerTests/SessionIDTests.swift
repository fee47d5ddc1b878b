import Testing

@testable import AerieServer

@Suite struct SessionIDTests {
    /// Dovecot's shape: 12 base64 characters (9 random octets), different for every connection.
    @Test func twelveBase64CharactersEachTimeDifferent() {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let ids = (0..<200).map { _ in SessionID.make() }
        #expect(ids.allSatisfy { $0.count == 12 && $0.allSatisfy(alphabet.contains) })
        #expect(Set(ids).count == ids.count)
    }
}
