import AerieTestSupport
import Testing

@testable import IMAPProtocol

/// Every command fixture, framed one byte at a time (and in odd chunks), parses to the same command.
@Suite("Framing of every command fixture")
struct CommandFramingTests {
    static let fixtures: [(String, IMAPCommandKind)] =
        SelectTests.successes + MailboxCommandTests.successes + ListTests.successes + AppendTests.successes
        + SearchTests.successes + FetchTests.successes + StoreTests.successes + QuotaAndMiscTests.successes

    static let limits = IMAPFramingLimits(maxLiteralSize: 4096, maxCommandSize: 16384)

    @Test func byteByByte() throws {
        for (input, kind) in Self.fixtures {
            for chunks in [[1], [3, 1, 7], [1000]] {
                let events = frame(bytes(input + "\r\n"), limits: Self.limits, chunkSizes: chunks)
                let units = events.compactMap { event -> [UInt8]? in
                    if case .unit(let unit) = event { return unit }
                    return nil
                }
                #expect(units.count == 1, "\(input.debugDescription)")
                #expect(!events.contains { if case .unit = $0 { false } else { $0 != .needsContinuation } })
                if let unit = units.first {
                    #expect(try IMAPCommandParser.parse(unit).kind == kind, "\(input.debugDescription)")
                }
            }
        }
    }

    /// Pipelined commands in one buffer come out as separate units, each parsing on its own.
    @Test func pipelined() throws {
        let inputs = Self.fixtures.prefix(40).map(\.0)
        let wire = bytes(inputs.map { $0 + "\r\n" }.joined())
        let units = frame(wire, limits: Self.limits, chunkSizes: [5, 1, 13]).compactMap { event -> [UInt8]? in
            if case .unit(let unit) = event { return unit }
            return nil
        }
        #expect(units.count == inputs.count)
        for (unit, (_, kind)) in zip(units, Self.fixtures) {
            #expect(try IMAPCommandParser.parse(unit).kind == kind)
        }
    }
}
