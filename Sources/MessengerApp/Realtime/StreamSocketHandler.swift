import NIOCore

/// The socket end of an SSE connection, through which the dispatcher writes frames directly once the response has
/// started (see ``Subscriber``): no task, no queue and no trip through the HTTP handlers per frame.
///
/// It sits first in the pipeline (next to the socket), so it sees the response head go out and learns from it whether
/// the body is chunk-encoded, and it frames what it writes the same way. It also closes the connection when the
/// client closes its side: with remote half-closure allowed, nothing else would notice until a write failed.
///
/// Everything but ``init()`` runs on the channel's event loop (that is why it can be `@unchecked Sendable`: the
/// subscriber only hands it to closures it runs there).
final class StreamSocketHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let lastChunk = ByteBuffer(string: "0\r\n\r\n")

    private var context: ChannelHandlerContext?
    /// Whether the response body is chunk-encoded; nil until the response head went out.
    private var chunked: Bool?
    private var needsFlush = false

    /// Whether this side wrote the response head and so ends the response itself (``DirectStreamOpener``).
    let ownsResponse: Bool
    /// The channel's loop, known from the start: a send can come after the handler left its channel, or when it
    /// never joined one (the client left while the stream was being opened).
    private let eventLoop: any EventLoop
    /// Once the response has ended nothing more is written (a second end, a replay frame after a shutdown's end).
    private var ended = false

    /// - Parameters:
    ///   - ownsResponse: true when ``DirectStreamOpener`` writes the (chunked) response head; false when Hummingbird
    ///     does and this handler learns the framing from it.
    ///   - eventLoop: the loop of the channel it is for.
    init(ownsResponse: Bool = false, eventLoop: any EventLoop) {
        self.ownsResponse = ownsResponse
        self.chunked = ownsResponse ? true : nil
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if self.chunked == nil, case .byteBuffer(let buffer) = self.unwrapOutboundIn(data) {
            self.chunked = Self.isChunkedHead(buffer)
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        // The server is quiescing and no HTTP handler is there to end the response: end it here.
        if event is ChannelShouldQuiesceEvent, self.ownsResponse {
            self.end(with: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Writes a response head this side made, then the first frame, and flushes once, unless `flush` is false: then
    /// they go out with the next flush (the stream's first frames, see ``DirectStreamOpener/openNow``).
    func writeHead(_ head: ByteBuffer, opening: ByteBuffer, flush: Bool = true) {
        guard let context else { return }
        context.write(self.wrapOutboundOut(.byteBuffer(head)), promise: nil)
        var chunks = ChunkedFrameCache()
        _ = self.write(frame: opening, chunks: &chunks)
        if flush { self.flush() }
    }

    /// Writes one frame and flushes, whether or not the connection is backed up; the future completes when it is
    /// written (the replay waits on it, so it never holds more than a frame in memory).
    func send(_ frame: ByteBuffer) -> EventLoopFuture<Void> {
        guard let context, !self.ended else { return self.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        self.writeFramed(frame, context: context, promise: promise)
        self.flush()
        return promise.futureResult
    }

    /// Ends a response this side started (``DirectStreamOpener``): an optional last frame, the end of the chunked
    /// body, then the connection closes once they are written.
    func end(with frame: ByteBuffer?) {
        guard let context, !self.ended else { return }
        // Written even to a backed-up connection: it is the last thing this response says (a replaced stream that
        // missed its `closed` event would reconnect and evict another).
        if let frame { self.writeFramed(frame, context: context) }
        self.ended = true
        let channel = context.channel
        if self.chunked ?? false {
            context.writeAndFlush(self.wrapOutboundOut(.byteBuffer(Self.lastChunk))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            context.flush()
            channel.close(promise: nil)
        }
    }

    /// Writes one SSE frame as body bytes, without flushing (see ``flush()``). False when the connection already
    /// holds more unsent bytes than its high-water mark: the client does not keep up.
    /// - Parameter chunks: the batch's chunk encodings (a frame written to many connections is encoded once).
    func write(frame: ByteBuffer, chunks: inout ChunkedFrameCache) -> Bool {
        guard let context, !self.ended, frame.readableBytes > 0 else { return true }
        guard context.channel.isWritable else { return false }
        self.writeFramed(frame, context: context, chunks: &chunks)
        return true
    }

    /// Writes one frame on its own (not part of a batch): its chunk is built for it alone.
    private func writeFramed(_ frame: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        var chunks = ChunkedFrameCache()
        self.writeFramed(frame, context: context, chunks: &chunks, promise: promise)
    }

    /// Writes `frame` as body bytes (one chunk when the body is chunked); `promise` completes when it is written.
    private func writeFramed(
        _ frame: ByteBuffer, context: ChannelHandlerContext, chunks: inout ChunkedFrameCache,
        promise: EventLoopPromise<Void>? = nil
    ) {
        if self.chunked ?? false {
            let chunk = chunks.chunk(for: frame, allocator: context.channel.allocator)
            context.write(self.wrapOutboundOut(.byteBuffer(chunk)), promise: promise)
        } else {
            context.write(self.wrapOutboundOut(.byteBuffer(frame)), promise: promise)
        }
        self.needsFlush = true
    }

    /// Flushes what ``write(frame:)`` wrote since the last flush (once per batch, however many frames it had).
    func flush() {
        guard self.needsFlush else { return }
        self.needsFlush = false
        self.context?.flush()
    }

    /// Whether `buffer` is an HTTP response head that announces a chunked body (HTTP/1.1 without a length); an
    /// HTTP/1.0 response body is written raw.
    static func isChunkedHead(_ buffer: ByteBuffer) -> Bool {
        let bytes = buffer.readableBytesView
        guard bytes.starts(with: "HTTP/".utf8) else { return false }
        let head = String(decoding: bytes, as: UTF8.self).lowercased()
        return head.contains("\r\ntransfer-encoding: chunked\r\n")
    }
}
