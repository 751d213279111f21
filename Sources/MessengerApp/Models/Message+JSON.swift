extension User: JSONObjectDescribing {
    /// `{"id","username","avatarURL"}`: the one description of the JSON, for ``jsonText`` and `encode(to:)`.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.string("id", self.id)
        writer.string("username", self.username)
        // The tutorial always sends the key, as null when unset.
        writer.nullable("avatarURL", self.avatarURL)
    }

    public func encode(to encoder: any Encoder) throws {
        try self.encodeDescribedJSON(to: encoder)
    }
}

extension Message: JSONObjectDescribing {
    /// `{"id","content","conversationId","createdAt","mine","user","clientId"?,"editedAt"?,"deleted"?}`: the one
    /// description of the JSON, for ``jsonText`` (every send and every delivered event) and `encode(to:)`.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.string("id", self.id)
        writer.string("content", self.content)
        writer.string("conversationId", self.conversationId)
        writer.string("createdAt", self.createdAt)
        writer.bool("mine", self.mine)
        writer.object("user", self.user)
        writer.omittingNil("clientId", self.clientId)
        writer.omittingNil("editedAt", self.editedAt)
        writer.omittingNil("deleted", self.deleted)
    }

    public func encode(to encoder: any Encoder) throws {
        try self.encodeDescribedJSON(to: encoder)
    }
}
