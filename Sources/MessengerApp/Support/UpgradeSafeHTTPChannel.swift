import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 with the WebSocket upgrade, plus the parser's bare 400 for a first request that breaks HTTP itself, and
/// SSE streams opened without the HTTP stack.
///
/// Streams: a connection whose first request plainly opens a stream (``StreamRequestHead``) is handed to
/// ``DirectStreamOpener``, which answers it and leaves the connection to the realtime core: no Hummingbird
/// connection task, no HTTP codec or upgrade handler, no async channel stays behind for a connection that will only
/// ever receive events. That is most of what an idle stream used to cost (memory and the time to open one). A request
/// the opener declines (a bad token, shutting down) and every other request go to the full HTTP stack, which sees
/// exactly the bytes the client sent (``FirstRequestSniffer``).
///
/// Parse errors: Hummingbird's upgrade channel answers malformed requests once it has decided against an upgrade,
/// but an error while the first request's head is still being parsed reaches no handler there, and the connection
/// would hang without an answer (the plain HTTP channel answers 400). ``FirstRequestErrorHandler`` fills that gap.
struct UpgradeSafeHTTPChannel: ServerChildChannel {
    /// A connection and what its first request turns out to be. A future, because the initializer must not wait for
    /// the first bytes: NIO registers the connection (and so starts reading it) only once the initializer is done.
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let route: EventLoopFuture<Route>
    }

    enum Route: Sendable {
        /// The full HTTP stack has the connection.
        case http(HTTP1WebSocketUpgradeChannel.Value)
        /// A stream request for the opener (which may still hand it to the HTTP stack).
        case stream(StreamRequestHead, FirstRequestSniffer)
        /// A stream the opener opened on the event loop: it lives in the realtime core, nothing is left to do.
        case opened
        /// Closed before a first request.
        case closed
    }

    let inner: HTTP1WebSocketUpgradeChannel
    /// Nil: every request goes through the HTTP stack.
    let streams: DirectStreamOpener?
    /// The count ``ConnectionTaskExecutor`` decides by; nil: connections' tasks run on the cooperative pool.
    var load: RequestLoad? = nil

    /// How accepted connections size their receive buffers. NIO keeps each connection's last receive buffer for
    /// reuse, for as long as the connection lives; at its default (2 KiB to start with) that buffer was the largest
    /// single allocation of an idle stream. A request of this API fits in 1 KiB (a bearer token, a short JSON body),
    /// and the allocator still doubles the buffer for a connection whose reads fill it (uploads, pipelining).
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 64 * 1024)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // Before the first read: the initializer runs before the channel becomes active.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveAllocator)
            guard self.streams != nil else {
                let http = self.setUpHTTP(channel: channel, logger: logger).map { Route.http($0) }
                return channel.eventLoop.makeSucceededFuture(Value(channel: channel, route: http))
            }
            let sniffer = FirstRequestSniffer(eventLoop: channel.eventLoop)
            try channel.pipeline.syncOperations.addHandler(sniffer)
            // Resolved on the event loop while the sniffer holds the bytes: the HTTP stack is set up in the same
            // turn, so an ordinary request waits for no task.
            let route = sniffer.decision.futureResult.flatMap { decision -> EventLoopFuture<Route> in
                switch decision {
                case .closed:
                    return channel.eventLoop.makeSucceededFuture(.closed)
                case .stream(let head):
                    // Most streams open right here, in this event-loop turn (see ``DirectStreamOpener/openNow``).
                    if self.streams?.openNow(head, channel: channel, sniffer: sniffer) == true {
                        return channel.eventLoop.makeSucceededFuture(.opened)
                    }
                    return channel.eventLoop.makeSucceededFuture(.stream(head, sniffer))
                case .http:
                    return self.handOverToHTTP(channel: channel, sniffer: sniffer, logger: logger).map { .http($0) }
                }
            }
            return channel.eventLoop.makeSucceededFuture(Value(channel: channel, route: route))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
    }

    func handle(value: Value, logger: Logger) async {
        let channel = value.channel
        guard let route = try? await value.route.get() else {
            channel.close(promise: nil)
            return
        }
        switch route {
        case .closed, .opened:
            return
        case .http(let inner):
            await self.handleHTTP(inner, channel: channel, logger: logger)
        case .stream(let head, let sniffer):
            // The opener's work (token, registration, presence, replay) runs in this task, which then ends: the
            // stream lives on in the realtime core and the channel, not in a parked task.
            if await self.streams?.open(head, channel: channel, sniffer: sniffer) == true { return }
            let handOver = channel.eventLoop.flatSubmit { self.handOverToHTTP(channel: channel, sniffer: sniffer, logger: logger) }
            guard let inner = try? await handOver.get() else {
                channel.close(promise: nil)
                return
            }
            await self.handleHTTP(inner, channel: channel, logger: logger)
        }
    }

    /// Hummingbird's handling of the connection, in a task that prefers the connection's event loop while requests
    /// come one at a time (``ConnectionTaskExecutor``).
    private func handleHTTP(_ value: HTTP1WebSocketUpgradeChannel.Value, channel: any Channel, logger: Logger) async {
        guard let load = self.load else {
            return await self.inner.handle(value: value, logger: logger)
        }
        await withTaskExecutorPreference(ConnectionTaskExecutor(channel.eventLoop, load: load)) {
            await self.inner.handle(value: value, logger: logger)
        }
    }

    /// Sets up the HTTP stack after the sniffer and gives it the bytes the sniffer held. On the event loop.
    private func handOverToHTTP(channel: any Channel, sniffer: FirstRequestSniffer, logger: Logger) -> EventLoopFuture<
        HTTP1WebSocketUpgradeChannel.Value
    > {
        self.setUpHTTP(channel: channel, logger: logger).map { value in
            sniffer.handOver()
            return value
        }
    }

    private func setUpHTTP(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        self.inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestErrorHandler(), position: .after(decoder))
            return value
        }
    }
}

/// Answers a parse error in the first request's head with `400` and closes; passes everything else through
/// untouched (it never unwraps what it forwards, so it is harmless after an upgrade) and does nothing once a head
/// has passed, when Hummingbird's own handling takes over.
final class FirstRequestErrorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Only touched on the channel's event loop.
    private var active = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.active = false
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, self.active else {
            context.fireErrorCaught(error)
            return
        }
        self.active = false
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["Content-Length": "0", "Connection": "close"])
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        // Then as if the client had stopped sending: the upgrade handler closes the connection and ends its pending
        // upgrade quietly (closing from here would end it with an error that is logged as one).
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in
            bound.value.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }
}
