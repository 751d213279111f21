import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `GET /api/ws`: the user's stream over a WebSocket, plus `send`, `read` and `typing` frames from the client.
///
/// The socket is one more ``Subscriber`` in the same registry as the SSE streams (same events, order, positions,
/// per-user limit, slow-consumer cut, logout and expiry); only the framing differs (see ``WebSocketFrame``). Client
/// frames run through the same controller code as the REST routes.
public struct WebSocketController: Sendable {
    let realtime: RealtimeService
    let messages: MessageController
    let typing: TypingController
    let configuration: AppConfiguration

    public init(realtime: RealtimeService, messages: MessageController, typing: TypingController, configuration: AppConfiguration) {
        self.realtime = realtime
        self.messages = messages
        self.typing = typing
        self.configuration = configuration
    }

    /// 426 for a plain HTTP request to the WebSocket route.
    static let upgradeRequired = HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required")

    public func routes(on group: RouterGroup<AppRequestContext>) {
        let realtime = self.realtime
        group.ws(
            "ws",
            shouldUpgrade: { request, context in
                guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                    // A plain request: the guard's JSON 401 first, then a bad parameter's 400, then 426.
                    _ = try context.requireIdentity()
                    try Self.validate(request)
                    throw AppError(Self.upgradeRequired, "this endpoint speaks WebSocket: send an upgrade request", headers: [.upgrade: "websocket"])
                }
                // An upgrade with a refused token still upgrades: the socket then says why and closes (1008).
                if context.authFailure != nil { return .upgrade([:]) }
                _ = try context.requireIdentity()
                guard realtime.isAccepting else { throw AppError(.serviceUnavailable, "shutting down") }
                return .upgrade([:])
            },
            onUpgrade: self.session
        )
    }

    /// A parameter is never ignored: `resume` can only be `frame`.
    static func validate(_ request: Request) throws {
        if let resume = request.uri.queryParameters["resume"], resume != "frame" {
            throw AppError.badRequest("invalid 'resume': the only value is 'frame'")
        }
    }

    @Sendable func session(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<AppRequestContext>
    ) async throws {
        guard let identity = context.requestContext.identity else {
            let failure = context.requestContext.authFailure ?? AppError.unauthorized()
            try await outbound.write(.text(Self.errorFrame(failure, frame: nil)))
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }
        do {
            try Self.validate(context.request)
        } catch let error as AppError {
            try await outbound.write(.text(Self.errorFrame(error, frame: nil)))
            try await outbound.close(.policyViolation, reason: "invalid request")
            return
        }
        let query = context.request.uri.queryParameters
        let lastEventID = query["lastEventId"].map(String.init)
        // `?resume=frame`: the stream starts after the client's first frame, which may be `resume` (for clients that
        // cannot change their URL between reconnects). Nothing is written before it, so the replay is exact.
        let awaitResume = lastEventID == nil && query["resume"] == "frame"
        let (resumeIDs, resumeID) = AsyncStream.makeStream(of: String?.self, bufferingPolicy: .bufferingNewest(1))
        if !awaitResume { resumeID.yield(lastEventID) }
        let channel = context.requestContext.channel
        let logger = context.logger
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = resumeIDs.makeAsyncIterator()
                guard let position = await iterator.next(), !Task.isCancelled else { return }
                try await self.stream(identity: identity, channel: channel, lastEventID: position, outbound: outbound)
            }
            group.addTask {
                try await self.readCommands(
                    inbound: inbound, outbound: outbound, identity: identity, resume: awaitResume ? resumeID : nil, logger: logger)
            }
            // Either side ending ends the socket: the stream closed (its close code is sent), or the client left,
            // broke a limit or closed.
            try await group.next()
            group.cancelAll()
        }
    }

    /// Subscribes (live, or replaying after `lastEventID`) and writes the stream until it ends.
    private func stream(identity: Identity, channel: any Channel, lastEventID: String?, outbound: WebSocketOutboundWriter) async throws {
        guard let start = try await self.realtime.subscribe(identity: identity, channel: channel, lastEventID: lastEventID) else {
            // Shutting down, or the session was logged out while the socket opened.
            try await outbound.close(.goingAway, reason: "closed")
            return
        }
        let subscriber = start.subscriber
        let realtime = self.realtime
        defer {
            subscriber.close(reason: .disconnected)
            realtime.unsubscribe(subscriber)
        }
        try await self.writeStream(start: start, subscriber: subscriber, outbound: outbound)
    }

    /// Writes the stream's frames, then closes the socket with a code that says why the stream ended.
    private func writeStream(
        start: RealtimeService.Start, subscriber: Subscriber, outbound: WebSocketOutboundWriter
    ) async throws {
        let realtime = self.realtime
        func write(_ frame: ByteBuffer) async throws {
            if let text = WebSocketFrame.text(fromSSE: frame) { try await outbound.write(.text(text)) }
        }
        if let snapshot = await realtime.presenceSnapshot(for: subscriber.userID) { try await write(snapshot) }
        if case .resume(_, let position) = start {
            let complete = try await realtime.replay(subscriber, from: position, write: write)
            if !complete {
                try await write(realtime.endWithReset(subscriber))
                try await outbound.close(.normalClosure, reason: "reset")
                return
            }
        }
        for await frame in subscriber.frames {
            try await write(frame)
        }
        switch subscriber.closeReason {
        case .shutdown: try await outbound.close(.goingAway, reason: "shutdown")
        case .replaced: try await outbound.close(.policyViolation, reason: Subscriber.CloseReason.replaced.rawValue)
        // Logged out, expired, too slow: the subscriber already cut the connection.
        case .loggedOut, .expired, .tooSlow, .disconnected, nil: return
        }
    }
}
