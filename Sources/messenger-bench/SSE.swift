import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One dispatched Server-Sent Event. `receivedAt` is taken on the event loop when the bytes arrived.
struct SSEEvent: Sendable {
    let type: String  // "message" for the default event
    let id: String?
    let data: [UInt8]
    let receivedAt: UInt64
}

enum SSEError: Error, CustomStringConvertible {
    case status(Int)
    case closedBeforeReady
    case timeout

    var description: String {
        switch self {
        case .status(let code): return "SSE answered HTTP \(code)"
        case .closedBeforeReady: return "SSE connection closed before the response head"
        case .timeout: return "SSE connection timed out"
        }
    }
}

/// State shared between an SSE handler (event loop) and the bench (tasks).
final class SSEState: Sendable {
    struct Values {
        var lastEventId: String?
        var sawId = false
        var closed = false
        var closedByUs = false
    }
    let values = Locked(Values())
}

/// A minimal SSE client over NIO: one GET, parses `id:`/`event:`/`data:` blocks and hands events to `onEvent`
/// on the event loop. Many of these share one or two event loop threads.
final class SSEConnection: Sendable {
    let channel: any Channel
    let state: SSEState
    /// Completes when the first `id:` line arrived (the server's resume point), or fails on close/timeout.
    let firstId: EventLoopFuture<Void>

    private init(channel: any Channel, state: SSEState, firstId: EventLoopFuture<Void>) {
        self.channel = channel
        self.state = state
        self.firstId = firstId
    }

    var lastEventId: String? { state.values.withLock { $0.lastEventId } }
    var isClosed: Bool { state.values.withLock { $0.closed } }

    static func connect(
        group: any EventLoopGroup, target: Target, token: String, lastEventId: String? = nil,
        timeout: TimeAmount = .seconds(15),
        onEvent: @escaping @Sendable (SSEEvent) -> Void
    ) async throws -> SSEConnection {
        let eventLoop = group.next()
        let ready = eventLoop.makePromise(of: Void.self)
        let firstId = eventLoop.makePromise(of: Void.self)
        let state = SSEState()
        state.values.withLock { $0.lastEventId = lastEventId }
        let path = "\(target.pathPrefix)/api/messages?token=\(token)"
        let host = "\(target.host):\(target.port)"
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        SSEHandler(
                            host: host, path: path, lastEventId: lastEventId, state: state, ready: ready,
                            firstId: firstId, onEvent: onEvent))
                }
            }
        let timer = eventLoop.scheduleTask(in: timeout) {
            ready.fail(SSEError.timeout)
            firstId.fail(SSEError.timeout)
        }
        let channel: any Channel
        do {
            channel = try await target.connect(bootstrap).get()
        } catch {
            timer.cancel()
            ready.fail(error)
            firstId.fail(error)
            throw error
        }
        do {
            try await ready.futureResult.get()
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            throw error
        }
        firstId.futureResult.whenComplete { _ in timer.cancel() }
        return SSEConnection(channel: channel, state: state, firstId: firstId.futureResult)
    }

    /// Closes the stream and waits until the handler saw the close, so `lastEventId` is final.
    func close() async {
        state.values.withLock { $0.closedByUs = true }
        do { try await channel.close() } catch {}
        try? await channel.closeFuture.get()
    }
}

private final class SSEHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let host: String
    let path: String
    let initialLastEventId: String?
    let state: SSEState
    let ready: EventLoopPromise<Void>
    let firstId: EventLoopPromise<Void>
    let onEvent: @Sendable (SSEEvent) -> Void

    private var parser: SSEParser
    private var announcedFirstId = false

    init(
        host: String, path: String, lastEventId: String?, state: SSEState, ready: EventLoopPromise<Void>,
        firstId: EventLoopPromise<Void>, onEvent: @escaping @Sendable (SSEEvent) -> Void
    ) {
        self.host = host
        self.path = path
        self.initialLastEventId = lastEventId
        self.parser = SSEParser(lastEventID: lastEventId)
        self.state = state
        self.ready = ready
        self.firstId = firstId
        self.onEvent = onEvent
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Accept", value: "text/event-stream")
        headers.add(name: "Cache-Control", value: "no-cache")
        if let id = initialLastEventId { headers.add(name: "Last-Event-ID", value: id) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.status.code == 200 {
                ready.succeed(())
            } else {
                ready.fail(SSEError.status(Int(head.status.code)))
                firstId.fail(SSEError.status(Int(head.status.code)))
                context.close(promise: nil)
            }
        case .body(let buffer):
            let at = nowNs()
            buffer.withUnsafeReadableBytes { raw in consume(raw, at: at) }
        case .end:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.values.withLock { $0.closed = true }
        ready.fail(SSEError.closedBeforeReady)
        firstId.fail(SSEError.closedBeforeReady)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func consume(_ raw: UnsafeRawBufferPointer, at: UInt64) {
        self.parser.consume(raw, at: at) { dispatch in
            let (id, seen) = (dispatch.lastEventID, dispatch.sawID)
            self.state.values.withLock {
                $0.lastEventId = id
                if seen { $0.sawId = true }
            }
            if seen && !self.announcedFirstId {
                self.announcedFirstId = true
                self.firstId.succeed(())
            }
            if let event = dispatch.event { self.onEvent(event) }
        }
    }
}
