import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

extension WebSocketController {
    /// A frame from the client: `{"type": "send"|"read"|"typing", ...}`.
    struct ClientFrame: Decodable {
        var type: String
        var conversationId: String?
        var content: String?
        var clientId: String?
        var upTo: String?
        var typing: Bool?
        var lastEventId: String?
    }

    /// Reads client frames until the client closes: text frames are commands, answered in order; a binary frame,
    /// a frame past the size limit (the server's frame decoder and `messages(maxSize:)`) or a burst past the rate
    /// limit closes the socket (1003, 1009, 1008); malformed JSON only gets an `error` frame.
    ///
    /// - Parameter resume: set while the stream waits for the client's first frame (`?resume=frame`): it gets the
    ///   position of a first `resume` frame, or nil (live) for any other first frame.
    func readCommands(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, identity: Identity, resume: AsyncStream<String?>.Continuation?,
        logger: Logger
    ) async throws {
        var resume = resume
        defer { resume?.yield(nil) }
        var bucket = TokenBucket(rate: self.configuration.webSocketFramesPerSecond, burst: 2 * self.configuration.webSocketFramesPerSecond)
        for try await message in inbound.messages(maxSize: self.configuration.maxWebSocketFrame) {
            guard bucket.take() else {
                try await outbound.close(.policyViolation, reason: "too many frames")
                return
            }
            guard case .text(let text) = message else {
                try await outbound.close(.unacceptableData, reason: "binary frames are not accepted")
                return
            }
            if let waiting = resume {
                resume = nil
                let frame = try? AppRequestDecoder.decode(ClientFrame.self, from: ByteBuffer(string: text).readableBytesView)
                if frame?.type == "resume" {
                    waiting.yield(frame?.lastEventId)
                    continue
                }
                waiting.yield(nil)
            }
            if text.contains("resume"),
                (try? AppRequestDecoder.decode(ClientFrame.self, from: ByteBuffer(string: text).readableBytesView))?.type == "resume"
            {
                // Only the first frame of a `?resume=frame` socket can choose where the stream starts.
                try await outbound.write(
                    .text(Self.errorFrame(AppError.badRequest("resume is only accepted as the first frame, with ?resume=frame"), frame: "resume")))
                continue
            }
            let reply = await self.reply(to: text, identity: identity, logger: logger)
            try await outbound.write(.text(reply))
        }
    }

    /// Runs one command through the same code as its REST route; the answer is an `ack` or an `error` frame whose
    /// `data` is the REST error body plus `status` (the HTTP status the route would have answered) and `frame`.
    func reply(to text: String, identity: Identity, logger: Logger) async -> String {
        var kind: String?
        do {
            let frame = try AppRequestDecoder.decode(ClientFrame.self, from: ByteBuffer(string: text).readableBytesView)
            kind = frame.type
            return try await self.run(frame, userID: identity.userID)
        } catch is CancellationError {
            return WebSocketFrame.reply(type: "error", data: "{\"error\":\"cancelled\",\"status\":503}")
        } catch {
            return Self.errorFrame(AppError(mapping: error, logger: logger), frame: kind)
        }
    }

    /// `{"type":"error","data":{<the REST error body>,"status":<HTTP status>,"frame":<the command's type>}}`.
    static func errorFrame(_ error: AppError, frame kind: String?) -> String {
        var data = error.jsonBody
        data.removeLast()
        data += ",\"status\":\(error.status.code)"
        if let kind { data += ",\"frame\":" + JSONText.quote(kind) }
        return WebSocketFrame.reply(type: "error", data: data + "}")
    }

    private func run(_ frame: ClientFrame, userID: Int64) async throws -> String {
        switch frame.type {
        case "send":
            let conversationID = try Self.conversationID(frame)
            let (message, created) = try await self.messages.send(
                userID: userID, conversationID: conversationID, content: frame.content, clientID: frame.clientId)
            return "{\"type\":\"ack\",\"frame\":\"send\",\"created\":\(created),\"data\":\(message.jsonText)}"
        case "read":
            let conversationID = try Self.conversationID(frame)
            try await self.messages.markRead(userID: userID, conversationID: conversationID, upTo: frame.upTo)
            return "{\"type\":\"ack\",\"frame\":\"read\",\"data\":{\"conversationId\":\"\(conversationID)\"}}"
        case "typing":
            let conversationID = try Self.conversationID(frame)
            guard let typing = frame.typing else { throw AppError.badRequest("missing field 'typing'") }
            try await self.typing.setTyping(userID: userID, conversationID: conversationID, isTyping: typing)
            return "{\"type\":\"ack\",\"frame\":\"typing\",\"data\":{\"conversationId\":\"\(conversationID)\"}}"
        default:
            throw AppError.badRequest("unknown frame type '\(frame.type.prefix(40))': use send, read or typing")
        }
    }

    /// The same answer as the REST routes for a bad or missing conversation id.
    private static func conversationID(_ frame: ClientFrame) throws -> Int64 {
        guard let id = ID.parse(frame.conversationId ?? "") else { throw AppError.notFound("conversation not found") }
        return id
    }
}
