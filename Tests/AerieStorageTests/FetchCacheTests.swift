import AerieTestSupport
import Glibc
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

/// aerie.cache: what one server process parsed, the next one finds (a second engine on the same directory stands in
/// for a restarted server).
@Suite struct FetchCacheFileTests {
    @Test func parsedItemsSurviveARestartAndATornTailIsCutOff() throws {
        let root = makeTempDirectory("storage-cachefile")
        defer { removeTree(root) }
        let before = try makeStore(root, fsync: false).open("INBOX")
        for _ in 0..<3 { _ = try before.append(sampleMessage, flags: .init(), internalDate: nil) }
        _ = try before.sync()
        before.cache(.envelope, uid: 1, value: "(\"env one\")")
        before.cache(.bodyStructure, uid: 2, value: "(\"text\" \"plain\")")
        before.flushCache()
        #expect(FS.exists("\(root)/aerie.cache"))

        // A crash mid-append leaves half a record behind.
        let fd = open("\(root)/aerie.cache", O_WRONLY | O_APPEND)
        _ = "3 0 500\n(\"tor".withCString { write(fd, $0, strlen($0)) }
        close(fd)

        let after = try makeStore(root, fsync: true).open("INBOX")  // another configuration: a new engine
        #expect(after.cached(.envelope, uid: 1) == "(\"env one\")")
        #expect(after.cached(.bodyStructure, uid: 2) == "(\"text\" \"plain\")")
        #expect(after.cached(.envelope, uid: 3) == nil)
        after.cache(.envelope, uid: 3, value: "(\"env three\")")
        after.flushCache()
        let text = readText("\(root)/aerie.cache") ?? ""
        #expect(!text.contains("tor") && text.hasSuffix("3 0 13\n(\"env three\")\n"))

        // A third process (another configuration again) reads the repaired file.
        let third = try makeStore(root, layout: .fs, fsync: false).open("INBOX")
        #expect(third.cached(.envelope, uid: 3) == "(\"env three\")")
        #expect(third.cached(.envelope, uid: 1) == "(\"env one\")")
    }

    /// Values an older Aerie parsed differently (another format version) are not served; the file is written anew.
    @Test func aFileOfAnotherFormatVersionIsIgnored() throws {
        let root = makeTempDirectory("storage-cacheversion")
        defer { removeTree(root) }
        let box = try makeStore(root, fsync: false).open("INBOX")
        _ = try box.append(sampleMessage, flags: .init(), internalDate: nil)
        _ = try box.sync()
        box.cache(.envelope, uid: 1, value: "(\"current\")")
        box.flushCache()
        let current = readText("\(root)/aerie.cache") ?? ""
        #expect(current.hasPrefix("\(FetchCacheFile.magic) "))
        let old = current.replacing(FetchCacheFile.magic, with: "AERIE-CACHE 1")
            .replacing("(\"current\")", with: "(\"old!!!\")")
        writeText("\(root)/aerie.cache", old)

        let restarted = try makeStore(root, fsync: true).open("INBOX")
        #expect(restarted.cached(.envelope, uid: 1) == nil)
        restarted.cache(.envelope, uid: 1, value: "(\"new\")")
        restarted.flushCache()
        let text = readText("\(root)/aerie.cache") ?? ""
        #expect(text.hasPrefix("\(FetchCacheFile.magic) ") && !text.contains("old!!!"))
    }
}
