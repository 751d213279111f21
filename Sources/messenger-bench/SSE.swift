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
        var events = 0
        var comments = 0
        var bytes = 0
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

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var idBuffer: String?
    private var sawId = false
    private var announcedFirstId = false

    init(
        host: String, path: String, lastEventId: String?, state: SSEState, ready: EventLoopPromise<Void>,
        firstId: EventLoopPromise<Void>, onEvent: @escaping @Sendable (SSEEvent) -> Void
    ) {
        self.host = host
        self.path = path
        self.initialLastEventId = lastEventId
        self.idBuffer = lastEventId
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
            state.values.withLock { $0.bytes += buffer.readableBytes }
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

    /// Splits `raw` into lines. A line that lies whole in this read is handled where it lies; only a line cut by
    /// the end of a read is copied (into `line`) until its rest arrives. The parser runs on the client's event loop
    /// for every receipt of every stream, so its cost is part of what a fan-out measurement sees: it looks for line
    /// ends a block at a time and touches each byte once.
    private func consume(_ raw: UnsafeRawBufferPointer, at: UInt64) {
        var start = 0
        while start < raw.count {
            guard let end = raw[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                line.append(contentsOf: raw[start...])
                return
            }
            if line.isEmpty {
                processLine(UnsafeRawBufferPointer(rebasing: raw[start..<end]), at: at)
            } else {
                line.append(contentsOf: raw[start..<end])
                line.withUnsafeBytes { processLine($0, at: at) }
                line.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    private func processLine(_ rawLine: UnsafeRawBufferPointer, at: UInt64) {
        var text = rawLine
        if text.last == UInt8(ascii: "\r") { text = UnsafeRawBufferPointer(rebasing: text.dropLast()) }
        if text.isEmpty {
            dispatch(at: at)
            return
        }
        if text[0] == UInt8(ascii: ":") {
            state.values.withLock { $0.comments += 1 }
            return
        }
        let field: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer
        if let colon = text.firstIndex(of: UInt8(ascii: ":")) {
            field = UnsafeRawBufferPointer(rebasing: text[..<colon])
            value = UnsafeRawBufferPointer(rebasing: text[(colon + 1)...])
            if value.first == UInt8(ascii: " ") { value = UnsafeRawBufferPointer(rebasing: value.dropFirst()) }
        } else {
            field = text
            value = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if field.elementsEqual("id".utf8) {
            if !value.contains(0) {
                idBuffer = String(decoding: value, as: UTF8.self)
                sawId = true
            }
        }
        // "retry" and unknown fields are ignored.
    }

    private func dispatch(at: UInt64) {
        let id = idBuffer
        let seen = sawId
        let hasEvent = hasData
        state.values.withLock {
            $0.lastEventId = id
            if seen { $0.sawId = true }
            if hasEvent { $0.events += 1 }
        }
        if sawId && !announcedFirstId {
            announcedFirstId = true
            firstId.succeed(())
        }
        guard hasData else {
            eventType = nil
            return
        }
        let event = SSEEvent(type: eventType ?? "message", id: id, data: data, receivedAt: at)
        data = []
        hasData = false
        eventType = nil
        onEvent(event)
    }
}
