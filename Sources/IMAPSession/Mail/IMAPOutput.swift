public import IMAPProtocol

/// Where a mailbox command writes its responses. The server's implementation writes to the connection from the
/// mail thread pool and applies backpressure, so a FETCH of a whole mailbox streams instead of piling up in memory.
public protocol IMAPOutput: Sendable {
    func send(_ response: IMAPResponse)
    /// Bytes already in IMAP wire form (a FETCH response with literals), CRLF included.
    func sendRaw(_ bytes: [UInt8])
}

/// Collects output in memory; for tests.
public final class CollectingOutput: IMAPOutput, @unchecked Sendable {
    private var chunks: [[UInt8]] = []
    public init() {}
    public func send(_ response: IMAPResponse) { chunks.append(response.bytes) }
    public func sendRaw(_ bytes: [UInt8]) { chunks.append(bytes) }
    /// Everything written, as text lines without CRLF (literals stay inside their line).
    public var text: String { String(decoding: chunks.joined(), as: UTF8.self) }
    public var lines: [String] {
        text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }
    public func reset() { chunks.removeAll() }
}
