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

    /// Opens the stream at once, on the event loop, when nothing about it has to be waited for: a token this process
    /// already knows (``Authenticator/knownIdentity(_:)``), no `Last-Event-ID` to replay from, and a registry whose
    /// position is current. That is every stream of a user who just logged in and every reconnect of a known client.
    /// The response head goes out with the presence snapshot, from a batched read
    /// (``PresenceTracker/request(snapshotFor:deliver:)``). No task runs for such a stream at all; false (nothing
    /// done) leaves it to ``open(_:channel:sniffer:)``.
    func openNow(_ head: StreamRequestHead, channel: any Channel, sniffer: FirstRequestSniffer) -> Bool {
        let start = ContinuousClock.now
        guard head.lastEventID?.isEmpty ?? true, let token = head.token, let identity = self.authenticator.knownIdentity(token)
        else { return false }
        let socket = StreamSocketHandler(ownsResponse: true, eventLoop: channel.eventLoop)
        guard let subscriber = self.realtime.subscribeLiveNow(identity: identity, channel: channel, socket: socket) else { return false }
        // The head and opening wait, unflushed, for the presence snapshot (a batched read, usually a millisecond or
        // two): all three then leave in one write, one TCP segment for both sides to handle instead of two. The
        // stream is registered already, so nothing sent meanwhile is missed (it waits as pending frames).
        self.begin(subscriber, socket: socket, channel: channel, sniffer: sniffer, flushHead: false)
        let elapsed = ContinuousClock.now - start
        self.metrics.streamOpenedDirectly(duration: elapsed, immediately: true)
        self.realtime.requestPresenceSnapshot(for: identity.userID) { snapshot in
            // From the reading task, not the event loop: the request log line is a write to a file.
            self.log(head, elapsed: elapsed)
            subscriber.startDirect(first: snapshot, flushing: true)
        }
        return true
    }

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
        // A live stream's head waits for its presence snapshot, as in `openNow` (one write); a resumed one's goes with
        // the first replayed frame.
        let live: Bool
        if case .live = started { live = true } else { live = false }
        channel.eventLoop.execute { self.begin(subscriber, socket: socket, channel: channel, sniffer: sniffer, flushHead: !live) }
        let elapsed = ContinuousClock.now - start
        self.metrics.streamOpenedDirectly(duration: elapsed, immediately: false)
        self.log(head, elapsed: elapsed)
        // Contacts' presence first, so a client never has to ask.
        let snapshot = await realtime.presenceSnapshot(for: identity.userID)
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
            // head and the frames that waited (the position, events since the registration).
            subscriber.startDirect(first: snapshot, flushing: true)
        }
        return true
    }

    /// Takes the response over from the sniffer, on the event loop, once the stream is registered: the socket handler
    /// takes the sniffer's place, and head and opening go out in one write. Whatever this stream writes next is
    /// scheduled on the same loop after it. The subscriber goes when the connection does.
    private func begin(
        _ subscriber: Subscriber, socket: StreamSocketHandler, channel: any Channel, sniffer: FirstRequestSniffer, flushHead: Bool = true
    ) {
        let realtime = self.realtime
        channel.closeFuture.whenComplete { _ in realtime.unsubscribe(subscriber) }
        do {
            try channel.pipeline.syncOperations.addHandler(socket, position: .first)
            try channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: self.configuration.streamWaterMark)
            socket.writeHead(
                Self.responseHead(), opening: SSEFrame.opening(retryMilliseconds: self.configuration.retryMilliseconds), flush: flushHead)
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

    private func send(_ frame: ByteBuffer, _ socket: StreamSocketHandler, _ channel: any Channel) async throws {
        try await channel.eventLoop.flatSubmit { socket.send(frame) }.get()
    }

    /// Logs the request as ``RequestLogMiddleware`` does routed ones (time to the response head; the token
    /// redacted). It is counted as ``HTTPMetricsMiddleware`` counts them by ``AppMetrics/streamOpenedDirectly``.
    private func log(_ head: StreamRequestHead, elapsed: Duration) {
        RequestLogMiddleware<AppRequestContext>.log(
            method: "GET", uri: head.target, status: 200, elapsed: elapsed, level: .info, to: self.logger)
    }

    /// The head of a stream response: the same fields as ``StreamController``'s response after the middleware,
    /// chunked like Hummingbird's, plus `Connection: close`: no HTTP handler stays on this connection, so it closes
    /// when the stream ends, and a client must not keep it for its next request (one that did lost that request to
    /// the close).
    static func responseHead() -> ByteBuffer {
        var head = ByteBuffer()
        head.reserveCapacity(Self.headFields.count + 64)
        head.writeBytes(Self.headFields)
        head.writeString("Date: ")
        head.writeString(HTTPDate.now)
        head.writeStaticString("\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
        return head
    }

    /// Everything in the head up to the `Date` field: the same for every stream, so made once.
    private static let headFields: [UInt8] = {
        var text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
        for field in SecurityHeaders.fields {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        return Array(text.utf8)
    }()
}
