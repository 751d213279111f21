extension Conversation: JSONObjectDescribing {
    /// Every member always present (`null` when unset), counts as numbers: the one description of the JSON, for the
    /// hand-written text of every conversation response (the listing's page above all) and `encode(to:)`.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.string("id", self.id)
        writer.nullable("title", self.title)
        writer.bool("isGroup", self.isGroup)
        writer.nullableObject("otherParticipant", self.otherParticipant)
        writer.int("participantCount", self.participantCount)
        writer.nullableObject("lastMessage", self.lastMessage)
        writer.bool("hasUnreadMessages", self.hasUnreadMessages)
        writer.int("unreadCount", self.unreadCount)
        writer.string("createdAt", self.createdAt)
        writer.nullable("online", self.online)
        writer.nullable("lastSeenAt", self.lastSeenAt)
        writer.string("cursor", self.cursor)
    }
}
