import Foundation
import NIOCore
import PostgresLibPQ

/// Builds ``StreamEvent``s from the rows of the stream queries.
enum StreamEventRow {
    /// The columns both stream queries select, in this order.
    static let columns =
        "x.tx::text, x.id, x.conversation_id, x.kind, x.user_id, x.message_id, x.content, x.created_at, x.client_id, x.username, x.avatar_url"

    static func event(_ row: PostgresRow) throws -> StreamEvent {
        let (txText, id, conversationID, kindText, actorID, messageID, content, createdAt, clientID, username, avatar) = try row.decode(
            (String, Int64, Int64, String, Int64, Int64?, String?, Date, String?, String, String?).self
        )
        guard let tx = UInt64(txText), let kind = StreamEvent.Kind(rawValue: kindText) else {
            throw PostgresError(kind: .decoding, serverMessage: "bad stream row")
        }
        let position = StreamPosition(tx: tx, id: id, time: Int64(createdAt.timeIntervalSince1970))
        let user = User(id: actorID, username: username, avatarURL: avatar)
        switch kind {
        case .message:
            var message = Message(
                id: id,
                content: content ?? "",
                conversationID: conversationID,
                createdAt: Timestamp.format(createdAt),
                mine: true,
                user: user,
                clientID: clientID
            )
            let actorFrame = SSEFrame.event(id: position, name: nil, data: message.jsonText)
            message.mine = false
            return StreamEvent(
                position: position,
                kind: kind,
                conversationID: conversationID,
                actorID: actorID,
                actorFrame: actorFrame,
                othersFrame: SSEFrame.event(id: position, name: nil, data: message.jsonText)
            )
        case .read:
            let data =
                "{\"conversationId\":\"\(conversationID)\",\"userId\":\"\(actorID)\",\"lastReadMessageId\":\(messageID.map { "\"\($0)\"" } ?? "null")}"
            let frame = SSEFrame.event(id: position, name: "read", data: data)
            return StreamEvent(
                position: position, kind: kind, conversationID: conversationID, actorID: actorID, actorFrame: frame, othersFrame: frame)
        case .created, .joined, .left:
            let data = "{\"type\":\"\(kind.rawValue)\",\"conversationId\":\"\(conversationID)\",\"user\":\(user.jsonText)}"
            let frame = SSEFrame.event(id: position, name: "conversation", data: data)
            return StreamEvent(
                position: position, kind: kind, conversationID: conversationID, actorID: actorID, actorFrame: frame, othersFrame: frame)
        }
    }
}
