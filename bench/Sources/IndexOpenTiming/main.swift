// Times opening a mailbox the way a restarted server does (first open in the process, index present) and again
// warm (engine cached). Usage: IndexOpenTiming <maildir> [prime | writes]; see bench/README.md.
import AerieStorage
import Glibc

func milliseconds(_ seconds: Double) -> String {
    let hundredths = Int((seconds * 100_000).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction) ms"
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: IndexOpenTiming <maildir> [prime | writes]")
    exit(2)
}
let root = arguments[1]
let store = try MailStore(configuration: MailStoreConfiguration(root: root, fsync: false))
if arguments.count > 2 && arguments[2] == "prime" {
    let start = now()
    let box = try store.open("INBOX")
    print("prime open: \(box.messages.count) messages in \(milliseconds(now() - start))")
    var past = [timespec(tv_sec: time(nil) - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 60, tv_nsec: 0)]
    for dir in ["cur", "new"] { utimensat(AT_FDCWD, "\(root)/\(dir)", &past, 0) }
    _ = try box.sync()
    exit(0)
}
if arguments.count > 2 && arguments[2] == "writes" {
    // Deliveries, flag changes and expunges on a cold-opened mailbox: mean ms per operation.
    let box = try store.open("INBOX")
    let message = Array(repeating: UInt8(ascii: "x"), count: 4000) + [0x0A]
    func timed(_ label: String, _ count: Int, _ body: (Int) throws -> Void) rethrows {
        let t = now()
        for n in 0..<count { try body(n) }
        print("\(label): \(milliseconds((now() - t) / Double(count))) per operation (\(count))")
    }
    try timed("deliver", 200) { _ in _ = try store.deliver(to: "INBOX", message: message) }
    try timed("first sync after deliveries", 1) { _ in _ = try box.sync() }
    let uids = box.messages.map(\.uid)
    try timed("store +/-FLAGS \\Flagged", 200) { n in
        _ = try box.store(
            uids: [uids[n * 97 % uids.count]], flags: MessageFlags(system: .flagged), mode: n % 2 == 0 ? .add : .remove,
            unchangedSince: nil)
    }
    func expungeOne(_ n: Int) throws {
        let uid = uids[(n * 89 + 11) % uids.count]
        _ = try box.store(uids: [uid], flags: MessageFlags(system: .deleted), mode: .add, unchangedSince: nil)
        _ = try box.expunge(uids: [uid])
    }
    try timed("first expunge (flag + expunge)", 1) { _ in try expungeOne(0) }
    try timed("expunge one message (flag + expunge)", 100) { n in try expungeOne(n + 1) }
    try timed("sync", 20) { _ in _ = try box.sync() }
    exit(0)
}
let start = now()
let box = try store.open("INBOX")
let count = box.messages.count
let mailboxID = box.mailboxID
let cold = now() - start
var warm: [Double] = []
for _ in 0..<21 {
    let t = now()
    let again = try store.open("INBOX")
    _ = again.messages.count
    _ = again.mailboxID
    warm.append(now() - t)
}
warm.sort()
print(
    "messages \(count) cold \(milliseconds(cold)) warm (median of 21) \(milliseconds(warm[10])) mailboxID \(mailboxID.isEmpty ? "missing" : "ok")"
)
