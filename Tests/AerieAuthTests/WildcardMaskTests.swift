import Testing

@testable import AerieAuth

/// Dovecot's wildcard_match / wildcard_match_icase (src/lib/wildcard-match.c): one matcher for username_filter and
/// `aerie adm user MASK`.
@Suite struct WildcardMaskTests {
    @Test(arguments: [
        ("alice@example.com", "*", true), ("alice@example.com", "*@example.com", true),
        ("alice@example.org", "*@example.com", false), ("alice@example.com", "a?ice@*", true),
        ("alice", "alice", true), ("alice", "alic", false), ("alic", "alice", false), ("alice", "*x*", false),
        ("", "*", true), ("", "**", true), ("", "?", false), ("", "", true), ("a", "", false),
        ("ab", "a*b*", true), ("abcb", "*b", true), ("abc", "a*c*", true), ("abc", "a*d", false),
        ("abc", "???", true), ("abc", "??", false), ("abc", "????", false), ("abc", "*?", true),
        ("aXbXc", "a*b*c", true), ("abcbd", "*b?", true), ("mississippi", "*sip*", true),
        ("mississippi", "m*iss*ppi", true), ("mississippi", "m*x*ppi", false),
        // No escapes: the backslash is an ordinary character, as in wildcard_match (not wildcard_match_escaped).
        ("a*b", "a\\*b", false), ("a\\xb", "a\\*b", true),
        // `?` is one character, also outside ASCII.
        ("jürgen", "j?rgen", true),
    ])
    func matches(_ text: String, _ mask: String, _ expected: Bool) {
        #expect(WildcardMask(mask).matches(text) == expected)
        #expect(WildcardMask(mask, ignoringCase: true).matches(text) == expected)
    }

    @Test func caseIsIgnoredOnlyWhenAskedAndOnlyForASCII() {
        #expect(!WildcardMask("alice@*").matches("ALICE@example.com"))
        #expect(WildcardMask("alice@*", ignoringCase: true).matches("ALICE@example.com"))
        #expect(WildcardMask("A?ICE", ignoringCase: true).matches("alice"))
        // i_toupper is ASCII-only in Dovecot.
        #expect(!WildcardMask("jÜrgen", ignoringCase: true).matches("jürgen"))
        #expect(!WildcardMask("[", ignoringCase: true).matches("{"))
    }

    @Test func aLongTextAgainstManyStarsEnds() {
        let text = String(repeating: "a", count: 2000) + "b"
        let mask = String(repeating: "*a", count: 200) + "*c"
        #expect(!WildcardMask(mask).matches(text))
    }
}
