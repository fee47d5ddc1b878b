/// Streaming APPEND / LMTP DATA: chunks go straight to a tmp/ file (O_EXCL, 0600); commit fsyncs it, renames it into
/// new/ or cur/, fsyncs the directory and records the UID. Until commit nothing is visible in new/ or cur/.
import Glibc

/// Owned by one session at a time; internally locked, so handing it to a blocking-I/O thread is safe.
public final class AppendWriter: @unchecked Sendable {
    /// nil for a spool (the target mailbox is known only later): `Mailbox.append(spooled:)` commits it.
    private let mailbox: Mailbox?
    private let mutex = PosixMutex()
    private let tmpPath: String
    private let base: String
    private let durable: Bool
    private var fd: Int32
    private var counter = VirtualSizeCounter()
    private var finished = false

    init(mailbox: Mailbox?, tmpDirectory: String, durable: Bool) throws(StorageError) {
        self.mailbox = mailbox
        self.durable = durable
        base = MaildirFileName.generateUniqueBase()
        tmpPath = "\(tmpDirectory)/\(base)"
        if !FS.isDirectory(tmpDirectory) { try FS.makeDirectory(tmpDirectory) }
        fd = try FS.createExclusive(tmpPath)
    }

    deinit {
        if !finished {
            close(fd)
            unlink(tmpPath)
        }
    }

    /// Bytes written so far (for APPENDLIMIT / LMTP size checks while streaming).
    public var bytesWritten: Int { mutex.run { counter.size } }

    public func write(_ bytes: [UInt8]) throws(StorageError) {
        try mutex.run { () throws(StorageError) in
            guard !finished else { throw StorageError.io(path: tmpPath, errno: EBADF) }
            try FS.writeAll(fd, bytes, path: tmpPath)
            counter.add(bytes)
        }
    }

    /// The octets written so far, read back (a binary APPEND is converted before it is stored, RFC 3516 §4.3).
    public func contents() throws(StorageError) -> [UInt8] {
        try mutex.run { () throws(StorageError) -> [UInt8] in
            guard !finished else { throw StorageError.io(path: tmpPath, errno: EBADF) }
            guard let bytes = try FS.readFile(tmpPath, atMost: counter.size) else {
                throw StorageError.io(path: tmpPath, errno: ENOENT)
            }
            return bytes
        }
    }

    /// Durable before it returns; on failure the tmp/ file is removed and nothing appears in the mailbox.
    public func commit(flags: MessageFlags, internalDate: Int64?) throws(StorageError) -> UInt32 {
        guard let mailbox else { throw StorageError.io(path: tmpPath, errno: EINVAL) }
        return try commit(into: mailbox, flags: flags, internalDate: internalDate)
    }

    /// Commits into `mailbox`: a rename within the user's Maildir, whichever mailbox's tmp/ holds the file.
    func commit(into mailbox: Mailbox, flags: MessageFlags, internalDate: Int64?) throws(StorageError) -> UInt32 {
        let message = try mutex.run { () throws(StorageError) -> TempMessage in
            guard !finished else { throw StorageError.io(path: tmpPath, errno: EBADF) }
            finished = true
            defer { close(fd) }
            do throws(StorageError) {
                if let internalDate {
                    // Dovecot keeps INTERNALDATE as the file mtime.
                    var times = [timespec(tv_sec: time(nil), tv_nsec: 0), timespec(tv_sec: Int(internalDate), tv_nsec: 0)]
                    if futimens(fd, &times) != 0 { throw FS.ioError(tmpPath) }
                }
                if durable { try FS.fsync(fd, path: tmpPath) }
            } catch {
                unlink(tmpPath)
                throw error
            }
            return TempMessage(
                tmpPath: tmpPath, base: base, size: counter.size, virtualSize: counter.virtualSize, flags: flags)
        }
        do throws(StorageError) {
            guard let uid = try mailbox.commit([message], internalDates: [internalDate]).first else {
                throw StorageError.io(path: tmpPath, errno: EIO)
            }
            return uid
        } catch {
            unlink(tmpPath)
            throw error
        }
    }

    public func abort() {
        mutex.run {
            guard !finished else { return }
            finished = true
            close(fd)
            unlink(tmpPath)
        }
    }
}

extension AppendWriter {
    /// Copies what was written so far into `other` (CATENATE joins a spooled TEXT literal into the new message), in
    /// chunks, never the whole file in memory. The file is opened again for reading: the writer's own is write-only.
    public func copyContents(into other: AppendWriter) throws(StorageError) {
        let (path, size) = try mutex.run { () throws(StorageError) -> (String, Int) in
            guard !finished else { throw StorageError.io(path: tmpPath, errno: EBADF) }
            return (tmpPath, counter.size)
        }
        let input = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if input < 0 { throw StorageError.io(path: path, errno: errno) }
        defer { close(input) }
        var offset = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while offset < size {
            let count = chunk.withUnsafeMutableBytes {
                pread(input, $0.baseAddress, min($0.count, size - offset), off_t(offset))
            }
            if count < 0 { throw StorageError.io(path: path, errno: errno) }
            if count == 0 { throw StorageError.io(path: path, errno: EIO) }
            try other.write(Array(chunk[..<count]))
            offset += count
        }
    }
}
