import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Synchronization

/// Options every network subcommand shares.
struct ServerOptions: ParsableArguments {
    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port: Int = 143
    @Flag(help: "Implicit TLS (certificates are not verified: loopback only).") var tls = false
    @Option(help: "Password of every user.") var password = "pass"
    @Option(help: "A name for the server in the JSON line (e.g. aerie, dovecot).") var label = "server"

    func endpoint() throws -> Endpoint {
        Endpoint(host: host, port: port, unixPath: nil, tls: tls ? try Endpoint.makeTLSContext() : nil)
    }
}

/// `test1..test200`, `test5`, or `a,b,c`.
func parseUsers(_ spec: String) throws -> [String] {
    var users: [String] = []
    for part in spec.split(separator: ",") {
        if let range = part.firstRange(of: "..") {
            let from = part[..<range.lowerBound]
            let to = part[range.upperBound...]
            let prefix = from.prefix { !$0.isNumber }
            let toPrefix = to.prefix { !$0.isNumber }
            guard let a = Int(from.dropFirst(prefix.count)), var b = Int(to.dropFirst(toPrefix.count)) else {
                throw ValidationError("bad user range \(part) (expected e.g. test1..test200)")
            }
            if !toPrefix.isEmpty, toPrefix != prefix { throw ValidationError("bad user range \(part)") }
            b = max(a, b)
            users += (a...b).map { "\(prefix)\($0)" }
        } else {
            users.append(String(part))
        }
    }
    guard !users.isEmpty else { throw ValidationError("no users in \(spec)") }
    return users
}

/// `20s`, `1m`, `500ms`, `30` (seconds).
func parseDuration(_ text: String) throws -> Double {
    let s = text.trimmingSpaces()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, factor) in units where s.hasSuffix(suffix) {
        if let v = Double(s.dropLast(suffix.count)) { return v * factor }
    }
    guard let v = Double(s) else { throw ValidationError("bad duration \(text) (e.g. 20s)") }
    return v
}

extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Monotonic seconds.
func now() -> Double {
    Double(NIODeadline.now().uptimeNanoseconds) / 1e9
}

/// A JSON value for the one-line result.
enum JSON: Sendable {
    case string(String), int(Int), double(Double), bool(Bool), array([JSON]), object([(String, JSON)]), null

    var text: String {
        switch self {
        case .string(let s): return Self.quote(s)
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { return "null" }
            return String(Double((d * 10000).rounded()) / 10000)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { Self.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Prints the machine-readable line (prefixed `JSON `) and a human line.
func report(_ fields: [(String, JSON)], human: String) {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    print("JSON " + JSON.object(fields + [("client_cpu_s", .double(cpu))]).text)
    print(human)
}

func fmt(_ value: Double, _ digits: Int = 2) -> String {
    guard value.isFinite else { return "n/a" }
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (value * p).rounded() / p
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}

/// Error counts and a few distinct samples, shared by workers.
final class ErrorLog: Sendable {
    private let state = Mutex<(count: Int, samples: [String: Int])>((0, [:]))

    func record(_ what: String) {
        state.withLock {
            $0.count += 1
            let key = String(what.prefix(240))
            if $0.samples[key] != nil || $0.samples.count < 12 { $0.samples[key, default: 0] += 1 }
        }
    }

    var count: Int { state.withLock { $0.count } }

    var json: JSON {
        state.withLock { s in
            .array(s.samples.sorted { $0.value > $1.value }.map { .object([("error", .string($0.key)), ("count", .int($0.value))]) })
        }
    }

    var summary: String {
        state.withLock { s in
            s.samples.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }.joined(separator: "; ")
        }
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, max(0, Int((Double(sorted.count - 1) * p).rounded())))
    return sorted[index]
}

func median(_ values: [Double]) -> Double { percentile(values.sorted(), 0.5) }

let eventLoopGroup: MultiThreadedEventLoopGroup = .singleton

/// Logs in; throws with the server's answer when refused.
func login(_ connection: IMAPConnection, user: String, password: String) async throws {
    let reply = try await connection.send("LOGIN \(imapQuote(user)) \(imapQuote(password))")
    guard reply.isOK else { throw BenchError("LOGIN \(user): \(reply.text)") }
}

/// Runs a command and turns NO/BAD into an error.
func expectOK(_ connection: IMAPConnection, _ command: String, literal: ByteBuffer? = nil) async throws -> IMAPReply {
    let reply = try await connection.send(command, literal: literal)
    guard reply.isOK else { throw BenchError("\(command.prefix(60)) -> \(reply.text)") }
    return reply
}

/// A value shared between tasks under a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout sending Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
