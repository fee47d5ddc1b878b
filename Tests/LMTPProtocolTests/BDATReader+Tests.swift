import AerieTestSupport
import Testing

@testable import LMTPProtocol

@Suite("BDATReader")
struct BDATReaderTests {
    @Test func exactByteCounts() {
        var reader = BDATReader(maxMessageSize: 100)
        reader.beginChunk(size: 5)
        #expect(reader.isReadingChunk)
        #expect(reader.feed(bytes("he")) == [.data(bytes("he"))])
        #expect(reader.feed(bytes("llo\r\nBDAT")) == [.data(bytes("llo")), .end])
        #expect(!reader.isReadingChunk)
        #expect(reader.takeRemainder() == bytes("\r\nBDAT"))
        reader.beginChunk(size: 3)
        #expect(reader.feed(bytes(".\r\n")) == [.data(bytes(".\r\n")), .end])  // no unstuffing, no terminator
        #expect(reader.messageSize == 8)
    }

    @Test func zeroLengthChunk() {
        var reader = BDATReader(maxMessageSize: 10)
        reader.beginChunk(size: 0)
        #expect(reader.feed([UInt8]()) == [.end])
        #expect(reader.feed(bytes("QUIT\r\n")) == [])
        #expect(reader.takeRemainder() == bytes("QUIT\r\n"))
    }

    @Test func sizeLimitOverAllChunks() {
        var reader = BDATReader(maxMessageSize: 6)
        reader.beginChunk(size: 4)
        #expect(reader.feed(bytes("abcd")) == [.data(bytes("abcd")), .end])
        reader.beginChunk(size: 4)
        #expect(reader.feed(bytes("ef")) == [.data(bytes("ef"))])
        #expect(reader.feed(bytes("g")) == [.tooLarge])
        #expect(reader.feed(bytes("hNOOP")) == [.end])
        #expect(reader.isTooLarge)
        #expect(reader.takeRemainder() == bytes("NOOP"))
        reader.beginChunk(size: 1)
        #expect(reader.feed(bytes("i")) == [.end])  // still too large: nothing stored, no second .tooLarge
        reader.reset()
        #expect(!reader.isTooLarge)
        #expect(reader.messageSize == 0)
        reader.beginChunk(size: 1)
        #expect(reader.feed(bytes("j")) == [.data(bytes("j")), .end])
    }

    @Test func byteByByteMatchesWhole() {
        let data = bytes("binary\0\r\n.\r\nstuff")
        var whole = BDATReader(maxMessageSize: 1000)
        whole.beginChunk(size: data.count)
        let events = whole.feed(data)
        #expect(events == [.data(data), .end])
        var single = BDATReader(maxMessageSize: 1000)
        single.beginChunk(size: data.count)
        var stored: [UInt8] = []
        var ended = false
        for byte in data {
            for event in single.feed([byte]) {
                if case .data(let chunk) = event { stored += chunk }
                if event == .end { ended = true }
            }
        }
        #expect(stored == data)
        #expect(ended)
    }
}
