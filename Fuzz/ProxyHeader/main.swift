// libFuzzer entry point for the PROXY protocol header parser (issue 14): what a trusted proxy — or anyone who
// reaches a `haproxy = yes` listener before the trust check — sends first.
// Build: swift build --product FuzzProxyHeader --sanitize=fuzzer
// Run:   SWIFT_BACKTRACE=enable=no ./.build/debug/FuzzProxyHeader -max_total_time=60
import ProxyProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for input in [bytes, v2Signature + bytes, Array("PROXY ".utf8) + bytes] {
        check(input)
    }
    return 0
}

/// §2.2's fixed signature, so the fuzzer reaches the v2 body at once.
private let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

private func outcome(_ bytes: [UInt8]) -> Result<(header: ProxyHeader, length: Int)?, ProxyHeaderError> {
    Result { () throws(ProxyHeaderError) in try ProxyHeaderParser.parse(bytes) }
}

/// The properties the connection handler relies on: a header is never longer than the bound nor than the input;
/// the same header comes out whatever follows it; and an input that needs more bytes is never one that already
/// failed or finished at a shorter length (bytes arrive in pieces).
private func check(_ bytes: [UInt8]) {
    switch outcome(bytes) {
    case .success(let found?):
        precondition(found.length > 0 && found.length <= bytes.count, "header length outside the input")
        precondition(found.length <= ProxyHeaderParser.maximumLength, "header longer than the bound")
        guard case .success(let again?) = outcome(Array(bytes[..<found.length])) else {
            preconditionFailure("the header alone does not parse")
        }
        precondition(again.header == found.header && again.length == found.length, "trailing bytes changed the header")
        for cut in [0, found.length / 2, found.length - 1] where cut < found.length {
            if case .success(let early?) = outcome(Array(bytes[..<cut])) {
                preconditionFailure("a prefix of \(cut) octets parsed as a header of \(early.length)")
            }
        }
    case .success(nil):
        precondition(bytes.count < ProxyHeaderParser.maximumLength, "still waiting past the bound")
        for cut in [bytes.count / 2, max(0, bytes.count - 1)] {
            if case .success(let early?) = outcome(Array(bytes[..<cut])) {
                preconditionFailure("a prefix parsed as a header of \(early.length) but the whole needs more")
            }
        }
    case .failure:
        break
    }
}
