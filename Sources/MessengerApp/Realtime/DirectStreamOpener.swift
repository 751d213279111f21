import Foundation
import HTTPTypes
import Logging
import NIOCore

/// Opens an SSE stream straight from its connection (see ``UpgradeSafeHTTPChannel``): the same checks, registration,
/// response head, presence snapshot and replay as ``StreamController``, written to the socket by
/// ``StreamSocketHandler``, after which the stream lives on in the realtime core alone: no task, no HTTP handler
/// and no response machinery stay behind for a connection that only receives events.
///
/// It only takes streams it can open. For a request it declines (no or bad token, the server shutting down, a
/// database error before anything was written) it returns false before writing a byte, and the full HTTP stack
/// answers the request as it answers every other one (the 401, 503 or error body, logged and counted there).
struct DirectStreamOpener: Sendable {
    let realtime: RealtimeService
    let authenticator: Authenticator
    let configuration: AppConfiguration
    let metrics: AppMetrics
    let logger: Logger

    /// The route's name in metrics and logs (as the router names it).
    static let route = "/api/messages"

    /// Opens the stream; false, with nothing written, when the HTTP stack should answer instead. Returns once the
    /// stream is live (or ended): its connection then needs no task.
    func open(_ head: StreamRequestHead, channel: any Channel, sniffer: FirstRequestSniffer) async -> Bool {
        let start = ContinuousClock.now
        let realtime = self.realtime
        guard realtime.isAccepting, let token = head.token,
            let identity = try? await self.authenticator.authenticate(token)
        else { return false }
        let socket = StreamSocketHandler(ownsResponse: true, eventLoop: channel.eventLoop)
        // Registered before the response head goes out: a client that has the headers is subscribed, and sends it
        // makes from then on reach it (its opening `id:` says exactly from where).
        guard let started = try? await realtime.subscribe(identity: identity, channel: channel, socket: socket, lastEventID: head.lastEventID)
        else { return false }
        let subscriber = started.subscriber
        // From here this side owns the response. The subscriber goes when the connection does.
        channel.closeFuture.whenComplete { _ in realtime.unsubscribe(subscriber) }
        // After the registration: a presence snapshot read begun later than this can serve this stream too.
        let presenceTicket = realtime.presenceTicket()
        let responseHead = Self.responseHead()
        let waterMark = self.configuration.streamWaterMark
        let opening = SSEFrame.opening(retryMilliseconds: self.configuration.retryMilliseconds)
        // One event-loop turn and one write: the sniffer leaves, the socket handler takes its place, head and opening
        // go out together. Not waited for: whatever this stream writes next is scheduled on the same loop after it.
        channel.eventLoop.execute {
            do {
                try channel.pipeline.syncOperations.addHandler(socket, position: .first)
                try channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: waterMark)
                socket.writeHead(responseHead, opening: opening)
                // What the sniffer saw while the stream was being opened: the client leaving, or the server quiescing.
                let (inputClosed, quiesced) = (sniffer.inputClosed, sniffer.quiesced)
                sniffer.discard()
                if inputClosed {
                    channel.close(promise: nil)
                } else if quiesced {
                    socket.end(with: nil)
                }
            } catch {
                // The client left before this turn (the pipeline is gone): the subscriber goes with the channel.
                channel.close(promise: nil)
            }
        }
        self.record(head, start: start)
        // Contacts' presence first, so a client never has to ask.
        let snapshot = await realtime.presenceSnapshot(for: identity.userID, registeredAt: presenceTicket)
        if case .resume(_, let position) = started {
            do {
                if let snapshot { try await self.send(snapshot, socket, channel) }
                let complete = try await realtime.replay(subscriber, from: position) { try await self.send($0, socket, channel) }
                if !complete {
                    let reset = realtime.endWithReset(subscriber)
                    channel.eventLoop.execute { socket.end(with: reset) }
                    return true
                }
            } catch {
                subscriber.close(reason: .disconnected)
                realtime.unsubscribe(subscriber)
                channel.close(promise: nil)
                return true
            }
            subscriber.startDirect()
        } else {
            // From here the dispatcher writes to the connection directly; the snapshot goes in the same write as the
            // frames that waited (the position, events since the registration).
            subscriber.startDirect(first: snapshot)
        }
        return true
    }

    private func send(_ frame: ByteBuffer, _ socket: StreamSocketHandler, _ channel: any Channel) async throws {
        try await channel.eventLoop.flatSubmit { socket.send(frame) }.get()
    }

    /// Counts and logs the request as ``HTTPMetricsMiddleware`` and ``RequestLogMiddleware`` do for routed ones (time
    /// to the response head; the token redacted).
    private func record(_ head: StreamRequestHead, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        self.metrics.streamOpenedDirectly(duration: elapsed)
        RequestLogMiddleware<AppRequestContext>.log(
            method: "GET", uri: head.target, status: 200, elapsed: elapsed, level: .info, to: self.logger)
    }

    /// The head of a stream response: the same fields as ``StreamController``'s response after the middleware,
    /// chunked like Hummingbird's.
    static func responseHead() -> ByteBuffer {
        var text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
        for field in SecurityHeaders.fields {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        text += "Date: \(HTTPDate.now)\r\nTransfer-Encoding: chunked\r\n\r\n"
        return ByteBuffer(string: text)
    }
}
