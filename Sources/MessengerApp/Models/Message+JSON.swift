import Hummingbird
import NIOCore

extension User {
    /// The JSON object, written by hand: it is on the hot path of every send and every delivered event.
    var jsonText: String {
        "{\"id\":\"\(self.id)\",\"username\":\(JSONText.quote(self.username)),\"avatarURL\":\(self.avatarURL.map(JSONText.quote) ?? "null")}"
    }
}

extension Message {
    /// The JSON object, byte for byte what `JSONEncoder` would write for the API's shape, written by hand since
    /// it is on the hot path of every send and every delivered event.
    var jsonText: String {
        var text = "{\"id\":\"\(self.id)\",\"content\":\(JSONText.quote(self.content)),\"conversationId\":\"\(self.conversationId)\""
        text += ",\"createdAt\":\"\(self.createdAt)\",\"mine\":\(self.mine),\"user\":\(self.user.jsonText)"
        if let clientId { text += ",\"clientId\":" + JSONText.quote(clientId) }
        if let editedAt { text += ",\"editedAt\":\"\(editedAt)\"" }
        if self.deleted == true { text += ",\"deleted\":true" }
        return text + "}"
    }

    /// A JSON response with this message.
    func response(status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: self.jsonText))
        )
    }
}
