import Glibc
@testable import AerieStorage

func readText(_ path: String) -> String? {
    (try? FS.readFile(path))?.map { String(decoding: $0, as: UTF8.self) }
}

func writeText(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "open \(path)")
    _ = try? FS.writeAll(fd, Array(text.utf8), path: path)
    close(fd)
}

func names(in directory: String) -> [String] {
    ((try? FS.listDirectory(directory)) ?? nil)?.map(\.name).sorted() ?? []
}

func makeStore(_ root: String, layout: MailboxLayout = .maildirPlusPlus, fsync: Bool = false) throws -> MailStore {
    try MailStore(configuration: MailStoreConfiguration(root: root, layout: layout, fsync: fsync))
}

let sampleMessage = Array("From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n".utf8)
