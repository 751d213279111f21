import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/messages`: the user's Server-Sent Events stream.
public struct StreamController: Sendable {
    let realtime: RealtimeService
    let configuration: AppConfiguration

    public init(realtime: RealtimeService, configuration: AppConfiguration) {
        self.realtime = realtime
        self.configuration = configuration
    }

    public func routes(on group: RouterGroup<AppRequestContext>) {
        group.get("messages", use: self.stream)
    }

    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!

    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let accept = request.headers[.accept], accept.contains("text/event-stream") else {
            throw AppError(.notAcceptable, "this endpoint serves text/event-stream")
        }
        let identity = try context.requireIdentity()
        let lastEventID = request.headers[Self.lastEventID] ?? request.uri.queryParameters["lastEventId"].map(String.init)
        let realtime = self.realtime
        guard realtime.isAccepting else { throw AppError(.serviceUnavailable, "shutting down") }
        // Frames go out through this handler once the response has started (see `Subscriber`).
        let socket = StreamSocketHandler(eventLoop: context.channel.eventLoop)
        let channel = context.channel
        // Registered before the response head goes out: a client that has the headers is subscribed, and sends it
        // makes from then on reach it (its opening `id:` says exactly from where).
        guard let start = try await realtime.subscribe(identity: identity, channel: channel, socket: socket, lastEventID: lastEventID) else {
            throw AppError(.serviceUnavailable, "shutting down")
        }
        let subscriber = start.subscriber
        // Whatever happens to the response (it fails before its body starts, the body never runs), the subscriber
        // goes when the connection does: it never stays registered without a socket.
        channel.closeFuture.whenComplete { _ in realtime.unsubscribe(subscriber) }
        let waterMark = self.configuration.streamWaterMark
        // Both run on the event loop before the head is written (which is scheduled after them): the handler must see
        // the head go out. The high-water mark is how much unsent data a client may have before it is cut off.
        channel.eventLoop.execute {
            do {
                try channel.pipeline.syncOperations.addHandler(socket, position: .first)
                try channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: waterMark)
            } catch {
                channel.close(promise: nil)
            }
        }
        let retry = self.configuration.retryMilliseconds
        realtime.metrics.streamsOpenedRouter.increment()
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8",
            .cacheControl: "no-cache",
            Self.accelBuffering: "no",
        ]
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                do {
                    // Headers and a first comment at once: the browser's `open` fires now, not at the first event.
                    try await writer.write(SSEFrame.opening(retryMilliseconds: retry))
                    // Contacts' presence first, so a client never has to ask.
                    let snapshot = await realtime.presenceSnapshot(for: identity.userID)
                    if let snapshot { try await writer.write(snapshot) }
                    if case .resume(_, let position) = start {
                        let complete = try await realtime.replay(subscriber, from: position) { try await writer.write($0) }
                        if !complete {
                            try await writer.write(realtime.endWithReset(subscriber))
                            try await writer.finish(nil)
                            return
                        }
                    }
                    // From here the dispatcher writes to the connection directly; this task only waits for the end (a
                    // client that leaves closes the connection: see `StreamSocketHandler`).
                    subscriber.startDirect()
                    await subscriber.untilClosed()
                    realtime.unsubscribe(subscriber)
                    if subscriber.closeReason == .replaced {
                        try await writer.write(SSEFrame.closed(reason: Subscriber.CloseReason.replaced.rawValue))
                    }
                    try await writer.finish(nil)
                    channel.pipeline.removeHandler(socket, promise: nil)
                } catch {
                    subscriber.close(reason: .disconnected)
                    realtime.unsubscribe(subscriber)
                    throw error
                }
            }
        )
    }
}
