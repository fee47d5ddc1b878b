// Seed inputs for the fuzzer; written out as files by `FUZZ_WRITE_SEEDS=dir ./FuzzIMAPParser`
// (SwiftPM would warn about corpus files inside the target directory).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let seeds: [String] = [
    "a LOGIN bob secret\r\n",
    "a AUTHENTICATE PLAIN AGJvYgBodW50ZXIy\r\n",
    "a ID (\"name\" \"x\" \"os\" NIL)\r\n",
    "a SELECT INBOX (QRESYNC (67890007 20050715194045000 41:211,214:541 (1:15,19 41:55,61)))\r\n",
    "a EXAMINE \"Entw&APw-rfe\" (CONDSTORE)\r\n",
    "a CREATE Sent (USE (\\Sent))\r\n",
    "a RENAME {3+}\r\nold new\r\n",
    "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
    "a LSUB \"\" %\r\n",
    "a LIST \"\" ~foo\r\nb SELECT ~\r\nc LIST ~ (~{1}\r\nx)\r\n",
    "a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)\r\n",
    "a APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nHello ~{3+}\r\na\0b\r\n",
    "a UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Feb-1994) NOT (HEADER X-Y \"\" LARGER 5) 1:5,$\r\n",
    "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338 UID 1:* SAVEDBEFORE 1-Jan-2020 OLDER 60\r\n",
    "a FETCH 1:*,5 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (SUBJECT \"FROM\")]<0.100> BINARY[1]<5.5> BINARY.SIZE[2] MODSEQ)\r\n",
    "a UID FETCH 1:* FAST (CHANGEDSINCE 12345 VANISHED)\r\n",
    "a STORE 1:3 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted $Junk)\r\n",
    "a UID MOVE 1:4 Trash\r\n",
    "a UID EXPUNGE 3000:3002\r\n",
    "a SORT RETURN (COUNT) (REVERSE DATE SUBJECT) UTF-8 ALL\r\n",
    "a UID THREAD REFERENCES UTF-8 SINCE 5-MAR-2000\r\n",
    "a SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)\r\n",
    "a COMPRESS DEFLATE\r\na IDLE\r\nDONE\r\n",
]

/// libFuzzer calls this once; with FUZZ_WRITE_SEEDS set it writes the seeds there and exits.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    guard let directory = getenv("FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) else { return 0 }
    for (index, seed) in seeds.enumerated() {
        guard let file = fopen(directory + "/seed-\(index)", "wb") else { continue }
        let bytes = Array(seed.utf8)
        _ = fwrite(bytes, 1, bytes.count, file)
        fclose(file)
    }
    exit(0)
}
