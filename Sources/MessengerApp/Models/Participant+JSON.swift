extension Participant: JSONObjectDescribing {
    /// Every member always present (`null` when unset): the one description of the JSON.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.string("id", self.id)
        writer.string("username", self.username)
        writer.nullable("avatarURL", self.avatarURL)
        writer.nullable("lastReadMessageId", self.lastReadMessageId)
        writer.nullable("online", self.online)
        writer.nullable("lastSeenAt", self.lastSeenAt)
    }
}
