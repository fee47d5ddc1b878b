extension Mailbox {
    /// The message's first `limit` octets at most, whatever its `S=` size says; nil when its file is gone (renamed
    /// by a flag change or expunged meanwhile): a caller that wants it whole uses `read(uid:)`, which follows it.
    public func read(uid: UInt32, atMost limit: Int) throws(StorageError) -> [UInt8]? {
        guard let opened = try openMessage(uid: uid) else { return nil }
        return try FS.read(OpenedFile(fd: opened.fd, size: opened.size), from: 0, atMost: limit, path: opened.path)
    }
}
