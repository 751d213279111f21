import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 with the WebSocket upgrade, plus the parser's bare 400 for a first request that breaks HTTP itself.
///
/// Hummingbird's upgrade channel answers malformed requests once it has decided against an upgrade, but an error
/// while the first request's head is still being parsed reaches no handler there, and the connection would hang
/// without an answer (the plain HTTP channel answers 400). ``FirstRequestErrorHandler`` fills that gap.
struct UpgradeSafeHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value
    let inner: HTTP1WebSocketUpgradeChannel

    /// How accepted connections size their receive buffers. NIO keeps each connection's last receive buffer for
    /// reuse, for as long as the connection lives; at its default (2 KiB to start with) that buffer was the largest
    /// single allocation of an idle stream. A request of this API fits in 1 KiB (a bearer token, a short JSON body),
    /// and the allocator still doubles the buffer for a connection whose reads fill it (uploads, pipelining).
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 64 * 1024)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            // Before the first read: the initializer runs before the channel becomes active.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveAllocator)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return self.inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestErrorHandler(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.inner.handle(value: value, logger: logger)
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
