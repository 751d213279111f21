import NIOCore

extension StreamEvent {
    /// The event for a stream record, its SSE id signed by `codec`.
    init(_ record: StreamRecord, codec: StreamPositionCodec) {
        let id = codec.encode(record.position)
        let user = User(id: record.actorID, username: record.username, avatarURL: record.avatarURL)
        var actorFrame: ByteBuffer
        var othersFrame: ByteBuffer
        switch record.kind {
        case .message:
            var message = Message(
                id: record.position.id,
                content: record.content ?? "",
                conversationID: record.conversationID,
                createdAt: Timestamp.format(record.createdAt),
                mine: true,
                user: user,
                clientID: record.clientID,
                editedAt: record.editedAt.map(Timestamp.format),
                deleted: record.deleted
            )
            actorFrame = SSEFrame.event(id: id, name: nil, data: message.jsonText)
            message.mine = false
            othersFrame = SSEFrame.event(id: id, name: nil, data: message.jsonText)
        case .updated, .deleted:
            // The message's current state (a later deletion wins over an edit replayed after it).
            let name = record.kind == .updated ? "message_updated" : "message_deleted"
            var message = Message(
                id: record.messageID ?? 0,
                content: record.content ?? "",
                conversationID: record.conversationID,
                createdAt: Timestamp.format(record.messageCreatedAt ?? record.createdAt),
                mine: true,
                user: user,
                clientID: record.clientID,
                editedAt: record.editedAt.map(Timestamp.format),
                deleted: record.deleted
            )
            actorFrame = SSEFrame.event(id: id, name: name, data: message.jsonText)
            message.mine = false
            othersFrame = SSEFrame.event(id: id, name: name, data: message.jsonText)
        case .read:
            let lastRead = record.messageID.map { "\"\($0)\"" } ?? "null"
            let data = "{\"conversationId\":\"\(record.conversationID)\",\"userId\":\"\(record.actorID)\",\"lastReadMessageId\":\(lastRead)}"
            actorFrame = SSEFrame.event(id: id, name: "read", data: data)
            othersFrame = actorFrame
        case .created, .joined, .left:
            let data = "{\"type\":\"\(record.kind.rawValue)\",\"conversationId\":\"\(record.conversationID)\",\"user\":\(user.jsonText)}"
            actorFrame = SSEFrame.event(id: id, name: "conversation", data: data)
            othersFrame = actorFrame
        }
        self.init(
            position: record.position,
            kind: record.kind,
            conversationID: record.conversationID,
            actorID: record.actorID,
            actorFrame: actorFrame,
            othersFrame: othersFrame
        )
    }
}
