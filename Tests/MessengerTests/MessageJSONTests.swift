import Foundation
import Testing

@testable import MessengerApp

@Suite("Hand-written JSON")
struct MessageJSONTests {
    @Test("a message's hand-written JSON decodes to the same message, hostile text included")
    func roundTrip() throws {
        for content in ["plain", "quote \" backslash \\ newline \n tab \t", "<script>alert(1)</script>", "😀 \u{2028} \u{1}"] {
            for clientID in [nil, "c-\"1\""] {
                let message = Message(
                    id: 42,
                    content: content,
                    conversationID: 7,
                    createdAt: "2026-11-25T12:00:00.123456Z",
                    mine: clientID == nil,
                    user: User(id: 3, username: "bob", avatarURL: clientID == nil ? nil : "https://example.com/a.png"),
                    clientID: clientID
                )
                let decoded = try JSONDecoder().decode(Message.self, from: Data(message.jsonText.utf8))
                #expect(decoded == message)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(message.jsonText.utf8)) as? [String: Any])
                #expect((object["user"] as? [String: Any])?.keys.contains("avatarURL") == true)
            }
        }
    }
}
