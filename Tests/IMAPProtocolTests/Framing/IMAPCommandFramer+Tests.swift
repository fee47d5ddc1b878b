import AerieTestSupport
import NIOCore
import Testing

@testable import IMAPProtocol

@Suite("IMAPCommandFramer")
struct IMAPCommandFramerTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        var input: String
        var events: [FramerEvent]
        var limits = IMAPFramingLimits.preLogin
        var testDescription: String { input.debugDescription }
    }

    static let small = IMAPFramingLimits(maxLineLength: 20, maxLiteralSize: 10, maxCommandSize: 60, maxLiteralsPerCommand: 2)
    static let appendBound = IMAPFramingLimits(maxLiteralSize: 100, maxSynchronizingLiteralSize: 5)

    static let fixtures: [Fixture] = [
        Fixture(input: "a NOOP\r\n", events: [.unit(bytes("a NOOP"))]),
        Fixture(input: "a NOOP\n", events: [.unit(bytes("a NOOP"))]),  // bare LF, as Dovecot
        Fixture(input: "a NOOP\r\nb LOGOUT\r\n", events: [.unit(bytes("a NOOP")), .unit(bytes("b LOGOUT"))]),
        Fixture(input: "\r\n", events: [.unit([])]),
        Fixture(input: "a NOOP", events: []),  // incomplete: no line end yet
        Fixture(input: "a NOOP\r", events: []),
        Fixture(input: "a NO\rOP\r\n", events: [.unit(bytes("a NO\rOP"))]),  // lone CR stays for the parser to refuse
        Fixture(
            input: "a LOGIN {3}\r\nbob {6}\r\nsecret\r\n",
            events: [.needsContinuation, .needsContinuation, .unit(bytes("a LOGIN {3}\r\nbob {6}\r\nsecret"))]
        ),
        Fixture(input: "a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n", events: [.unit(bytes("a LOGIN {3+}\r\nbob {6+}\r\nsecret"))]),
        Fixture(input: "a LOGIN {3}\nbob pw\n", events: [.needsContinuation, .unit(bytes("a LOGIN {3}\r\nbob pw"))]),
        Fixture(input: "a X ~{2}\r\n\0\n\r\n", events: [.needsContinuation, .unit(bytes("a X ~{2}\r\n\0\n"))]),
        Fixture(input: "a X {0}\r\n\r\n", events: [.needsContinuation, .unit(bytes("a X {0}\r\n"))]),
        Fixture(input: "a X {2}\r\n\r\n\r\n", events: [.needsContinuation, .unit(bytes("a X {2}\r\n\r\n"))]),  // CRLF inside literal data
        Fixture(input: "a X {5-}\r\n", events: [.unit(bytes("a X {5-}"))]),  // not a literal in any RFC
        Fixture(input: "a X {}\r\n", events: [.unit(bytes("a X {}"))]),
        Fixture(input: "a X {3}abc\r\n", events: [.unit(bytes("a X {3}abc"))]),  // marker not at line end
        Fixture(input: "a LOGIN {3}\r\nbo", events: [.needsContinuation]),  // incomplete literal

        // Bounds (small limits: line 20, literal 10, command 60, 2 literals).
        Fixture(input: "a23456789012345678X\r\n", events: [.unit(bytes("a23456789012345678X"))], limits: small),
        Fixture(input: "a234567890123456789X\r\n", events: [.unit(bytes("a234567890123456789X"))], limits: small),
        Fixture(input: "a2345678901234567890X\r\nb NOOP\r\n", events: [.lineTooLong(tag: nil)], limits: small),
        Fixture(input: "tag1 34567890123456789\r\n", events: [.lineTooLong(tag: "tag1")], limits: small),
        Fixture(input: "tag1 345678901234567890123", events: [.lineTooLong(tag: "tag1")], limits: small),
        Fixture(input: "t X {10}\r\n0123456789\r\n", events: [.needsContinuation, .unit(bytes("t X {10}\r\n0123456789"))], limits: small),
        Fixture(input: "t X {11}\r\nt NOOP\r\n", events: [.literalTooLarge(tag: "t", size: 11, synchronizing: true), .unit(bytes("t NOOP"))], limits: small),
        Fixture(input: "t X {11+}\r\n01234567890\r\nt NOOP\r\n", events: [.literalTooLarge(tag: "t", size: 11, synchronizing: false)], limits: small),
        // RFC 7889 §4: a synchronizing literal over the APPEND bound is refused unsent; a non-synchronizing one is read.
        Fixture(input: "t APPEND I {6}\r\nt NOOP\r\n", events: [.literalTooLarge(tag: "t", size: 6, synchronizing: true), .unit(bytes("t NOOP"))], limits: appendBound),
        Fixture(input: "t APPEND I {6+}\r\n012345\r\n", events: [.unit(bytes("t APPEND I {6+}\r\n012345"))], limits: appendBound),
        Fixture(input: "t APPEND I {5}\r\n01234\r\n", events: [.needsContinuation, .unit(bytes("t APPEND I {5}\r\n01234"))], limits: appendBound),
        Fixture(input: "t X {99999999999999999999}\r\n", events: [.literalTooLarge(tag: "t", size: .max, synchronizing: true)]),
        Fixture(
            input: "t X {1+}\r\na {1+}\r\nb {1+}\r\nc\r\n",
            events: [.lineTooLong(tag: "t")],
            limits: small
        ),
        // One synchronizing literal too many is refused before its data comes; the next command is framed.
        Fixture(
            input: "t X {1}\r\na {1}\r\nb {1}\r\nu NOOP\r\n",
            events: [.needsContinuation, .needsContinuation, .tooManyLiterals(tag: "t"), .unit(bytes("u NOOP"))],
            limits: small
        ),
        Fixture(
            input: "t A {10+}\r\n0123456789 {10+}\r\n0123456789 {10}\r\n",
            events: [.literalTooLarge(tag: "t", size: 10, synchronizing: true)],
            limits: IMAPFramingLimits(maxLineLength: 20, maxLiteralSize: 10, maxCommandSize: 45, maxLiteralsPerCommand: 5)
        ),
        Fixture(
            input: "t A {10+}\r\n0123456789 {10+}\r\n0123456789 12345678\r\n",
            events: [.lineTooLong(tag: "t")],  // the last line part overflows maxCommandSize
            limits: IMAPFramingLimits(maxLineLength: 20, maxLiteralSize: 10, maxCommandSize: 45, maxLiteralsPerCommand: 5)
        ),
    ]

    @Test(arguments: fixtures)
    func wholeInput(_ fixture: Fixture) {
        #expect(frameWhole(bytes(fixture.input), limits: fixture.limits) == fixture.events)
    }

    @Test(arguments: fixtures)
    func byteByByte(_ fixture: Fixture) {
        #expect(frame(bytes(fixture.input), limits: fixture.limits, chunkSizes: [1]) == fixture.events)
    }

    @Test(arguments: fixtures)
    func seededRandomChunks(_ fixture: Fixture) {
        var rng = SplitMix64(seed: 0xA31E)
        for _ in 0..<20 {
            let sizes = (0..<8).map { _ in Int.random(in: 1...7, using: &rng) }
            #expect(frame(bytes(fixture.input), limits: fixture.limits, chunkSizes: sizes) == fixture.events)
        }
    }

    @Test func longSessionAnyChunkingGivesSameEvents() {
        var transcript = ""
        for index in 0..<50 {
            transcript += "a\(index) LOGIN {\(index % 7)}\r\n\(String(repeating: "x", count: index % 7)) \"pw\\\\\(index)\"\r\n"
            transcript += "b\(index) ID (\"name\" {3+}\r\nabc)\n"
        }
        let input = bytes(transcript)
        let expected = frameWhole(input)
        #expect(expected.count == 150)
        #expect(frame(input, chunkSizes: [1]) == expected)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<30 {
            let sizes = (0..<16).map { _ in Int.random(in: 1...97, using: &rng) }
            #expect(frame(input, chunkSizes: sizes) == expected)
        }
    }

    @Test func literalDataIsCountedNotScanned() {
        // A literal holding "{5}\r\n" must not be taken for another marker.
        let input = bytes("a X {5}\r\n{5}\r\n\r\n")
        #expect(frameWhole(input) == [.needsContinuation, .unit(bytes("a X {5}\r\n{5}\r\n"))])
    }

    @Test func closedAfterFatalError() {
        var framer = IMAPCommandFramer(limits: Self.small)
        framer.append(bytes("a X {11+}\r\n"))
        #expect(framer.next() == .literalTooLarge(tag: "a", size: 11, synchronizing: false))
        #expect(framer.isClosed)
        framer.append(bytes("b NOOP\r\n"))
        #expect(framer.next() == nil)
        #expect(!framer.hasBufferedBytes)
    }

    @Test func defaultLimits() {
        let limits = IMAPFramingLimits()
        #expect(limits.maxLineLength == 8192)
        #expect(limits.maxLiteralSize == 65536)
        #expect(limits.maxCommandSize == 131_072)
        #expect(limits.maxLiteralsPerCommand == 64)
        // 8192 octets pass, 8193 do not.
        let ok = "a " + String(repeating: "x", count: 8190)
        #expect(frameWhole(bytes(ok + "\r\n")) == [.unit(bytes(ok))])
        #expect(frameWhole(bytes(ok + "x\r\n")) == [.lineTooLong(tag: "a")])
        #expect(frame(bytes(ok + "x\r\n"), chunkSizes: [1]) == [.lineTooLong(tag: "a")])
    }

    @Test func literalCountBoundAtDefault() {
        var input = "a X"
        for _ in 0..<64 { input += " {1+}\r\nx" }
        #expect(frameWhole(bytes(input + "\r\n")).count == 1)
        #expect(frameWhole(bytes(input + " {1+}\r\nx\r\n")) == [.lineTooLong(tag: "a")])
    }

    @Test func limitsCanBeRaisedAfterLogin() {
        var framer = IMAPCommandFramer(limits: Self.small)
        framer.limits.maxLineLength = 100
        framer.limits.maxLiteralSize = 1000
        framer.limits.maxCommandSize = 2000
        framer.append(bytes("a APPEND INBOX {500+}\r\n" + String(repeating: "m", count: 500) + "\r\n"))
        guard case .unit(let unit) = framer.next() else {
            Issue.record("expected a unit")
            return
        }
        #expect(unit.count == "a APPEND INBOX {500+}\r\n".utf8.count + 500)
    }

    @Test func starttlsInjectionIsVisibleAndDiscardable() {
        var framer = IMAPCommandFramer()
        var buffer = ByteBuffer()
        buffer.writeString("a STARTTLS\r\nb LOGIN user pass\r\n")
        framer.append(buffer)
        #expect(framer.next() == .unit(bytes("a STARTTLS")))
        #expect(framer.hasBufferedBytes)
        framer.discardBuffered()
        #expect(!framer.hasBufferedBytes)
        #expect(framer.next() == nil)
        framer.append(bytes("c NOOP\r\n"))
        #expect(framer.next() == .unit(bytes("c NOOP")))
        #expect(!framer.hasBufferedBytes)
    }

    @Test func bytesBehindCompressAreHandedOverUnframed() {
        var framer = IMAPCommandFramer()
        framer.append(bytes("a COMPRESS DEFLATE\r\n") + [0x2A, 0xCE, 0x00, 0x0D, 0x0A])
        #expect(framer.next() == .unit(bytes("a COMPRESS DEFLATE")))
        #expect(framer.takeUnframedBytes() == [0x2A, 0xCE, 0x00, 0x0D, 0x0A])
        #expect(!framer.hasBufferedBytes)
        #expect(framer.takeUnframedBytes() == [])
        framer.append(bytes("b NOOP\r\n"))
        #expect(framer.next() == .unit(bytes("b NOOP")))
    }

    @Test func partialLineAndLiteralCountAsBuffered() {
        var framer = IMAPCommandFramer()
        framer.append(bytes("a LOGIN {3}\r\n"))
        #expect(framer.next() == .needsContinuation)
        #expect(framer.hasBufferedBytes)  // a half-framed command
        framer.discardBuffered()
        framer.append(bytes("b NOOP\r\n"))
        #expect(framer.next() == .unit(bytes("b NOOP")))
    }

    @Test func largeLiteralStreamsWithoutQuadraticRescans() {
        var framer = IMAPCommandFramer(limits: IMAPFramingLimits(maxLiteralSize: 1 << 20, maxCommandSize: 1 << 21))
        framer.append(bytes("a X {1000000+}\r\n"))
        #expect(framer.next() == nil)
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 {
            framer.append(chunk)
            #expect(framer.next() == nil)
        }
        framer.append(bytes("\r\n"))
        guard case .unit(let unit) = framer.next() else {
            Issue.record("expected a unit")
            return
        }
        #expect(unit.count == 1_000_016)
    }
}
