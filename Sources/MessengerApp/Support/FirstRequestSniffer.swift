import NIOCore

/// First in a new connection's pipeline: holds the bytes of its first request until it is clear whether they open
/// an SSE stream (``StreamRequestHead``), then says so through ``decision``.
///
/// For anything else (decided at the first bytes that cannot start `GET /api/messages`, so ordinary requests wait
/// for nothing), ``handOver()`` lets the full HTTP stack take the connection: the bytes held so far, and
/// anything that arrived meanwhile, go on to it and this handler leaves the pipeline.
///
/// Everything runs on the channel's event loop (hence `@unchecked Sendable`: it is only handed to closures that run
/// there).
final class FirstRequestSniffer: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Decision: Sendable {
        /// The full HTTP stack should answer (the bytes are still held).
        case http
        /// A plain stream request (the bytes are still held, should the stream path decline it after all).
        case stream(StreamRequestHead)
        /// The connection ended before a decision.
        case closed
    }

    /// The largest head waited for: a stream request is a few hundred bytes (a token, a few headers).
    static let maximumHead = 8 * 1024

    let decision: EventLoopPromise<Decision>
    private var held: ByteBuffer?
    private var decided = false
    /// The client closed its side (seen before the hand-over; the stream path closes the connection then).
    private(set) var inputClosed = false
    /// The server began shutting down after a decision, before the HTTP stack or the stream took over.
    private(set) var quiesced = false
    /// A read held back after the decision: the client's further bytes wait in the socket (backpressure), not here.
    private var readPending = false
    private var context: ChannelHandlerContext?

    init(eventLoop: any EventLoop) {
        self.decision = eventLoop.makePromise()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.decide(.closed)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if self.held == nil {
            self.held = bytes
        } else {
            self.held!.writeBuffer(&bytes)
        }
        guard !self.decided, let held = self.held else { return }
        let view = held.readableBytesView
        if !StreamRequestHead.mayBeStream(view) || view.count > Self.maximumHead {
            self.decide(.http)
        } else if StreamRequestHead.firstIndex(of: StreamRequestHead.headEnd, in: view) != nil {
            self.decide(StreamRequestHead.parse(held).map { .stream($0) } ?? .http)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Held back with the bytes (``handOver()`` fires it).
    }

    func read(context: ChannelHandlerContext) {
        // Until a decision, read on; after it, nothing more is read until the HTTP stack or the stream takes over.
        if self.decided {
            self.readPending = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client will send no more: whatever it sent is for the HTTP stack to answer.
            self.inputClosed = true
            self.decide(.http)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Shutting down: a connection that has not sent a request yet (a browser's spare connection) just closes,
            // as Hummingbird's own idle connections do; one whose request is being decided gets the event passed on
            // to the HTTP stack once that is in place (which then closes it after its answer).
            if self.decided {
                self.quiesced = true
            } else {
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.decide(.closed)
        context.fireChannelInactive()
    }

    private func decide(_ decision: Decision) {
        guard !self.decided else { return }
        self.decided = true
        self.decision.succeed(decision)
    }

    /// Passes the held bytes (and a half-closure seen meanwhile) to the handlers added after this one, then leaves the
    /// pipeline. Call on the event loop, once the HTTP stack's handlers are in place.
    func handOver() {
        guard let context = self.context else { return }
        if let held = self.held {
            self.held = nil
            context.fireChannelRead(self.wrapInboundOut(held))
            context.fireChannelReadComplete()
        }
        if self.inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        if self.quiesced { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        self.leave(context)
    }

    private func leave(_ context: ChannelHandlerContext) {
        let resumeReading = self.readPending
        self.readPending = false
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        if resumeReading { context.channel.read() }
    }

    /// Leaves the pipeline, dropping what it held (the stream path took the request); reading resumes (the stream's
    /// handler notices the client leaving). The caller looks at ``inputClosed`` and ``quiesced`` first.
    func discard() {
        self.held = nil
        guard let context = self.context else { return }
        self.leave(context)
    }
}
