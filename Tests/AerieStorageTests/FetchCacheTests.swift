import Testing

@testable import AerieStorage

/// ENVELOPE/BODYSTRUCTURE cache: by UID within one UIDVALIDITY, and every byte it holds is counted in the budget.
@Suite struct FetchCacheTests {
    @Test func valuesAreKeptPerUIDAndItemAndCounted() {
        var cache = FetchCache()
        cache.store(.envelope, uid: 7, uidValidity: 1, value: "(NIL)")
        cache.store(.bodyStructure, uid: 7, uidValidity: 1, value: "(\"text\")")
        #expect(cache.value(.envelope, uid: 7, uidValidity: 1) == "(NIL)")
        #expect(cache.value(.body, uid: 7, uidValidity: 1) == nil)
        #expect(cache.value(.envelope, uid: 8, uidValidity: 1) == nil)
        #expect(cache.bytes == "(NIL)".utf8.count + 16 + "(\"text\")".utf8.count + 16)
        // Replacing a value does not count it twice.
        cache.store(.envelope, uid: 7, uidValidity: 1, value: "(NIL NIL)")
        #expect(cache.bytes == "(NIL NIL)".utf8.count + 16 + "(\"text\")".utf8.count + 16)
        cache.clear()
        #expect(cache.bytes == 0)
    }

    @Test func anotherUIDValidityStartsOver() {
        var cache = FetchCache()
        cache.store(.envelope, uid: 1, uidValidity: 1, value: "old")
        cache.store(.envelope, uid: 2, uidValidity: 2, value: "new")
        #expect(cache.value(.envelope, uid: 1, uidValidity: 1) == nil)
        #expect(cache.value(.envelope, uid: 1, uidValidity: 2) == nil)
        #expect(cache.value(.envelope, uid: 2, uidValidity: 2) == "new")
        #expect(cache.bytes == "new".utf8.count + 16)
        cache.clear()
    }

    @Test func aValueBeyondTheProcessBudgetIsNotKept() {
        var cache = FetchCache()
        cache.store(.envelope, uid: 1, uidValidity: 1, value: String(repeating: "x", count: FetchCache.processLimit + 1))
        #expect(cache.value(.envelope, uid: 1, uidValidity: 1) == nil)
        #expect(cache.bytes == 0)
    }
}
