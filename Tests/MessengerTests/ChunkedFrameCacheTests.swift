import NIOCore
import Testing

@testable import MessengerApp

/// The chunk encoding a batch shares between connections: it must be rebuilt whenever the frame's bytes change (a
/// group's event goes to the sender's streams as one frame and to everybody else's as another, interleaved in one
/// batch), and be valid HTTP/1.1 chunked framing for every size.
@Suite("Chunk encoding of frames")
struct ChunkedFrameCacheTests {
    private static func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    @Test("interleaved frames of the same size each get their own chunk")
    func interleaved() {
        var cache = ChunkedFrameCache()
        let allocator = ByteBufferAllocator()
        let actor = ByteBuffer(string: "id: 1\nevent: message\ndata: {\"to\":\"me\"}\n\n")
        let others = ByteBuffer(string: "id: 1\nevent: message\ndata: {\"to\":\"us\"}\n\n")
        for frame in [actor, others, others, actor, others] {
            let chunk = cache.chunk(for: frame, allocator: allocator)
            let body = Self.text(frame)
            #expect(Self.text(chunk) == String(frame.readableBytes, radix: 16) + "\r\n" + body + "\r\n")
        }
    }

    @Test("the same bytes in another buffer give the same chunk; sizes are hexadecimal")
    func reuseAndSizes() {
        var cache = ChunkedFrameCache()
        let allocator = ByteBufferAllocator()
        let first = cache.chunk(for: ByteBuffer(string: "data: x\n\n"), allocator: allocator)
        let again = cache.chunk(for: ByteBuffer(string: "data: x\n\n"), allocator: allocator)
        #expect(first == again)
        for size in [1, 15, 16, 255, 256, 4_096, 70_000] {
            let frame = ByteBuffer(repeating: UInt8(ascii: "a"), count: size)
            var chunk = cache.chunk(for: frame, allocator: allocator)
            let header = chunk.readString(length: String(size, radix: 16).utf8.count + 2)
            #expect(header == String(size, radix: 16) + "\r\n")
            #expect(chunk.readSlice(length: size) == frame)
            #expect(chunk.readString(length: 2) == "\r\n")
            #expect(chunk.readableBytes == 0)
        }
    }
}
