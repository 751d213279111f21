import Foundation
import NIOCore
import Testing

@testable import MessengerApp

/// The hand-written JSON (``JSONObjectWriter``, every response of a model that describes its JSON) against
/// `JSONEncoder` walking the same descriptions: every object must
/// parse to the same JSON value, and every string must be the same bytes but for the one escape the writer adds on
/// purpose (U+2028/U+2029). Whole objects cannot be compared as bytes: this platform's `JSONEncoder` writes a keyed
/// container's members in hash order (it differs from run to run), the writer in the description's order. Lone surrogates are not among the hostile strings: a Swift `String` cannot hold one (a request body
/// with `\ud800` is refused with a 422 before decoding, see `JSONTextCheck`).
@Suite("Hand-written JSON against JSONEncoder")
struct JSONObjectWriterTests {
    /// Quotes, backslashes, every control character, the JavaScript line separators, astral and other non-ASCII
    /// characters, and text that looks like markup or JSON.
    static let hostile: [String] = [
        "",
        "plain",
        "quote \" backslash \\ slash / both \\\"",
        String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) })),
        "line \u{2028} paragraph \u{2029} end",
        "dash — euro € per mille ‰ (E2 80 but not a separator)\u{2028}",
        "😀👩‍👩‍👧 𝄞 \u{10FFFF} astral",
        "é ü 中文 العربية \u{7F} \u{85} \u{A0} \u{FEFF}",
        "<script>alert(1)</script> {\"a\":1} \\u0000",
    ]

    /// `JSONEncoder`'s output for `value` (as the API's responses are encoded) with the writer's extra escapes.
    static func encoderText(_ value: some Encodable) throws -> String {
        let text = String(decoding: try JSONResponse.encoder.encode(value), as: UTF8.self)
        return text.replacingOccurrences(of: "\u{2028}", with: "\\u2028").replacingOccurrences(of: "\u{2029}", with: "\\u2029")
    }

    /// Both texts parse, to the same JSON value.
    static func expectSameJSON(_ hand: String, _ encoder: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let left = try JSONSerialization.jsonObject(with: Data(hand.utf8), options: [.fragmentsAllowed]) as? NSObject
        let right = try JSONSerialization.jsonObject(with: Data(encoder.utf8), options: [.fragmentsAllowed]) as? NSObject
        #expect(left != nil && left == right, sourceLocation: sourceLocation)
    }

    static func messages(_ text: String) -> [Message] {
        [
            Message(
                id: 42, content: text, conversationID: 7, createdAt: "2026-11-25T12:00:00.123456Z", mine: true,
                user: User(id: 3, username: text, avatarURL: nil), clientID: nil),
            Message(
                id: 43, content: text, conversationID: 7, createdAt: "2026-11-25T12:00:00Z", mine: false,
                user: User(id: 4, username: "bob", avatarURL: text), clientID: text, editedAt: "2026-11-25T12:01:00Z"),
            Message(
                id: 44, content: "", conversationID: 8, createdAt: "2026-11-25T12:00:00Z", mine: false,
                user: User(id: 5, username: "carol", avatarURL: "https://example.com/a.png"), clientID: "c-1",
                editedAt: nil, deleted: true),
        ]
    }

    @Test("a string is quoted to the same bytes as JSONEncoder's, hostile text included")
    func quoting() throws {
        for text in Self.hostile {
            #expect(JSONText.quote(text) == (try Self.encoderText(text)))
            try Self.expectSameJSON(JSONText.quote(text), try Self.encoderText(text))
        }
        // Each control character on its own, so a wrong escape names the character.
        for value in 0..<0x20 {
            let text = String(Character(Unicode.Scalar(UInt8(value))))
            #expect(JSONText.quote(text) == (try Self.encoderText(text)), "U+\(String(value, radix: 16))")
        }
        #expect(JSONText.quote("\u{2028}\u{2029}") == #""\u2028\u2029""#)
    }

    @Test("a message and its user: the same JSON as JSONEncoder, and it decodes back to the same message")
    func messagesMatchEncoder() throws {
        for text in Self.hostile {
            for message in Self.messages(text) {
                try Self.expectSameJSON(message.jsonText, try Self.encoderText(message))
                try Self.expectSameJSON(message.user.jsonText, try Self.encoderText(message.user))
                #expect(try JSONDecoder().decode(Message.self, from: Data(message.jsonText.utf8)) == message)
            }
        }
    }

    @Test("the members a client relies on: avatarURL always present (null when unset), optional members left out")
    func shape() throws {
        let bare = try #require(Self.messages("x").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bare.jsonText.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "content", "conversationId", "createdAt", "mine", "user"])
        let user = try #require(object["user"] as? [String: Any])
        #expect(Set(user.keys) == ["id", "username", "avatarURL"])
        #expect(user["avatarURL"] is NSNull)
        let full = Self.messages("x")[1]
        #expect(
            bare.jsonText
                == #"{"id":"42","content":"x","conversationId":"7","createdAt":"2026-11-25T12:00:00.123456Z","mine":true,"user":{"id":"3","username":"x","avatarURL":null}}"#
        )
        #expect(full.jsonText.hasSuffix(",\"clientId\":\"x\",\"editedAt\":\"2026-11-25T12:01:00Z\"}"))
        #expect(Self.messages("x")[2].jsonText.hasSuffix(",\"clientId\":\"c-1\",\"deleted\":true}"))
    }

    @Test("a message embedded in a Codable container is encoded from the same description")
    func embedded() throws {
        let messages = Self.messages(Self.hostile[3])
        let window = MessageWindow(messages: messages, before: nil, after: "x")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try Self.encoderText(window).utf8)) as? [String: Any])
        let embedded = try #require(object["messages"] as? [Any])
        let hand = try JSONSerialization.jsonObject(with: Data(("[" + messages.map(\.jsonText).joined(separator: ",") + "]").utf8))
        #expect((embedded as NSArray) == (hand as? NSArray))
    }

    static func conversations(_ text: String) -> [Conversation] {
        let message = Self.messages(text)[1]
        return [
            Conversation(
                id: "7", title: nil, isGroup: false, otherParticipant: User(id: 4, username: text, avatarURL: nil),
                participantCount: 2, lastMessage: message, hasUnreadMessages: true, unreadCount: 1000,
                createdAt: "2026-11-25T12:00:00Z", online: true, lastSeenAt: nil, cursor: "1795710096132377_7"),
            Conversation(
                id: "8", title: text, isGroup: true, otherParticipant: nil, participantCount: 1000, lastMessage: nil,
                hasUnreadMessages: false, unreadCount: 0, createdAt: "2026-11-25T12:00:00.5Z", online: nil,
                lastSeenAt: text, cursor: text),
        ]
    }

    @Test("a page of conversations and its parts: the same JSON as JSONEncoder, and it decodes back")
    func conversationsMatchEncoder() throws {
        for text in Self.hostile {
            let page = Self.conversations(text)
            for conversation in page {
                try Self.expectSameJSON(conversation.jsonText, try Self.encoderText(conversation))
                #expect(try JSONDecoder().decode(Conversation.self, from: Data(conversation.jsonText.utf8)) == conversation)
            }
            let array = String(decoding: JSONObjectWriter.arrayBytes(page), as: UTF8.self)
            try Self.expectSameJSON(array, try Self.encoderText(page))
            #expect(try JSONDecoder().decode([Conversation].self, from: Data(array.utf8)) == page)
            #expect(JSONObjectWriter.arrayBytes(page, capacityEach: 1) == Array(array.utf8), "the reserved size changes nothing")

            let participant = Participant(id: "3", username: text, avatarURL: text, lastReadMessageId: nil, online: false, lastSeenAt: text)
            try Self.expectSameJSON(participant.jsonText, try Self.encoderText(participant))
            #expect(try JSONDecoder().decode(Participant.self, from: Data(participant.jsonText.utf8)) == participant)

            let window = MessageWindow(messages: Self.messages(text), before: text, after: nil)
            try Self.expectSameJSON(window.jsonText, try Self.encoderText(window))
            #expect(try JSONDecoder().decode(MessageWindow.self, from: Data(window.jsonText.utf8)) == window)
        }
        #expect(JSONObjectWriter.arrayBytes([Conversation]()) == Array("[]".utf8))
    }

    @Test("the conversation members a client relies on: every member present, null when unset, counts as numbers")
    func conversationShape() throws {
        let group = Self.conversations("x")[1]
        #expect(
            group.jsonText
                == #"{"id":"8","title":"x","isGroup":true,"otherParticipant":null,"participantCount":1000,"lastMessage":null,"hasUnreadMessages":false,"unreadCount":0,"createdAt":"2026-11-25T12:00:00.5Z","online":null,"lastSeenAt":"x","cursor":"x"}"#
        )
        let direct = Self.conversations("x")[0]
        #expect(
            direct.jsonText.hasPrefix(
                #"{"id":"7","title":null,"isGroup":false,"otherParticipant":{"id":"4","username":"x","avatarURL":null},"participantCount":2,"lastMessage":{"id":"43","#
            ))
        #expect(
            direct.jsonText.hasSuffix(
                #","hasUnreadMessages":true,"unreadCount":1000,"createdAt":"2026-11-25T12:00:00Z","online":true,"lastSeenAt":null,"cursor":"1795710096132377_7"}"#
            ))
        let participant = Participant(id: "3", username: "ann", avatarURL: nil, lastReadMessageId: "42")
        #expect(participant.jsonText == #"{"id":"3","username":"ann","avatarURL":null,"lastReadMessageId":"42","online":null,"lastSeenAt":null}"#)
        let window = MessageWindow(messages: [], before: nil, after: "9")
        #expect(window.jsonText == #"{"messages":[],"before":null,"after":"9"}"#)
    }

    @Test("an error body: the same JSON as JSONEncoder, field errors and extra members in key order")
    func errorBody() throws {
        for text in Self.hostile {
            var error = AppError.validation(["z": text, text: "bad", "a": "short"])
            error.extra = ["usernames": [text, "b"], "aa": []]
            try Self.expectSameJSON(error.jsonBody, try Self.encoderText(error))
            #expect(AppError.notFound(text).jsonBody == #"{"error":"# + JSONText.quote(text) + "}")
        }
        var error = AppError.validation(["b": "1", "a": "2"])
        error.extra = ["usernames": ["x"]]
        #expect(error.jsonBody == #"{"error":"invalid input","errors":{"a":"2","b":"1"},"usernames":["x"]}"#)
    }

    @Test("a stream event's SSE data is the message's hand-written JSON, the same JSON as JSONEncoder's")
    func streamEvent() throws {
        let codec = StreamPositionCodec(serverKey: Array(repeating: 7, count: 32), databaseToken: "test")
        for text in Self.hostile {
            let record = StreamRecord(
                position: StreamPosition(tx: 10, id: 42, time: 0), kind: .message, conversationID: 7, actorID: 3,
                messageID: 42, content: text, createdAt: Date(timeIntervalSince1970: 1_790_000_000.5), clientID: text,
                username: text, avatarURL: nil)
            let event = StreamEvent(record, codec: codec)
            let expected = Message(
                id: 42, content: text, conversationID: 7, createdAt: Timestamp.format(record.createdAt), mine: true,
                user: User(id: 3, username: text, avatarURL: nil), clientID: text)
            var others = expected
            others.mine = false
            #expect(Self.data(event.actorFrame) == expected.jsonText)
            #expect(Self.data(event.othersFrame) == others.jsonText)
            try Self.expectSameJSON(try #require(Self.data(event.othersFrame)), try Self.encoderText(others))
        }
    }

    /// The `data:` of one SSE frame (the hand-written JSON never contains a raw newline, so it is one line).
    static func data(_ frame: ByteBuffer) -> String? {
        let lines = String(buffer: frame).split(separator: "\n").filter { $0.hasPrefix("data: ") }
        return lines.count == 1 ? String(lines[0].dropFirst("data: ".count)) : nil
    }
}
