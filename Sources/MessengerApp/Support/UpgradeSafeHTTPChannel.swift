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

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        self.inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
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
