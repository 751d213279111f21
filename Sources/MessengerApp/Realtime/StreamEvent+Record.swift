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
                clientID: record.clientID
            )
            actorFrame = SSEFrame.event(id: id, name: nil, data: message.jsonText)
            message.mine = false
            othersFrame = SSEFrame.event(id: id, name: nil, data: message.jsonText)
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
