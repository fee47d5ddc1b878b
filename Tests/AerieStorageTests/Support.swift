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

/// cur/ and new/ a minute old, as in a mailbox nobody touched for a while: their mtimes are trusted, so syncs that
/// follow list them only when something changes them.
func ageDirectories(_ maildir: String) {
    var past = [timespec(tv_sec: time(nil) - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 60, tv_nsec: 0)]
    for dir in ["cur", "new"] { utimensat(AT_FDCWD, "\(maildir)/\(dir)", &past, 0) }
}

func names(in directory: String) -> [String] {
    ((try? FS.listDirectory(directory)) ?? nil)?.map(\.name).sorted() ?? []
}

func makeStore(_ root: String, layout: MailboxLayout = .maildirPlusPlus, fsync: Bool = false) throws -> MailStore {
    try MailStore(configuration: MailStoreConfiguration(root: root, layout: layout, fsync: fsync))
}

let sampleMessage = Array("From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n".utf8)
