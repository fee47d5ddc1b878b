// libFuzzer entry point for the MIME parser (AerieMIME).
// Build: swift build --product FuzzMIMEParser --sanitize=fuzzer
// Run:   SWIFT_BACKTRACE=enable=no ./.build/debug/FuzzMIMEParser -max_total_time=60
import AerieMIME

/// Small limits so the fuzzer reaches every bound quickly.
let fuzzLimits = MIMELimits(maxDepth: 6, maxParts: 40, maxHeaderBytes: 2048, maxHeaderFields: 32)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for limits in [fuzzLimits, MIMELimits()] {
        let msg = ParsedMessage(bytes: bytes, limits: limits)
        precondition(msg.crlfBytes.count >= bytes.count)
        _ = msg.envelope()
        _ = msg.bodyStructure(extended: false)
        _ = msg.bodyStructure(extended: true)
        let whole = msg.section(BodySection())
        precondition(whole == msg.crlfBytes, "BODY[] must be the whole message")
        let paths: [[Int]] = [[], [1], [2], [1, 1], [2, 1], [1, 2], [2, 2, 1], [3, 1, 1, 1]]
        let texts: [BodySection.SectionText?] = [
            nil, .header, .text, .mime, .headerFields(["Subject", "from"]), .headerFieldsNot(["Content-Type"]),
        ]
        for p in paths {
            for t in texts { _ = msg.section(BodySection(part: p, text: t)) }
            _ = msg.binarySection(p)
        }
        // A binary APPEND's conversion keeps the rest of the message and decodes back to the octets sent.
        if let converted = ParsedMessage.binaryPartsInBase64(bytes, limits: limits) {
            precondition(!converted.isEmpty)
            _ = ParsedMessage(bytes: converted, limits: limits).binarySection([1])
        }
        for name in ["Subject", "From", "To", "Date", "Content-Type"] {
            _ = msg.headerValue(name)
            _ = msg.decodedHeaderValue(name)
        }
        _ = msg.searchableText(headers: true, body: true)
        _ = msg.date
        for s in msg.headerValue("Subject") { _ = SortKeys.baseSubject(s) }
    }
    _ = SortKeys.baseSubject(String(decoding: bytes.prefix(512), as: UTF8.self))
    return 0
}
