/// What the terminal client shows: the conversation list, the open conversation, the input line.
struct ChatState {
    enum Mode {
        case list
        case conversation
        /// Asking for a username to start a 1:1 with.
        case prompt
    }

    struct Conversation {
        var id: String
        var title: String
        var unread: Int
    }

    struct Message {
        var id: Int64
        var author: String
        var content: String
        var mine: Bool
        /// `HH:MM` of `createdAt`.
        var time: String
    }

    var username: String
    var userID: String
    var mode = Mode.list
    var conversations: [Conversation] = []
    var selected = 0
    var openID: String?
    var messages: [Message] = []
    /// Lines scrolled up from the newest.
    var scroll = 0
    var hasOlder = true
    var input = ""
    var connected = false
    var status = "connecting…"
    var typing: String?

    var openTitle: String { self.conversations.first { $0.id == self.openID }?.title ?? "" }

    /// Adds a message to the open conversation once, in id order.
    mutating func insert(_ message: Message) {
        guard !self.messages.contains(where: { $0.id == message.id }) else { return }
        if let last = self.messages.last, last.id > message.id {
            self.messages.append(message)
            self.messages.sort { $0.id < $1.id }
        } else {
            self.messages.append(message)
        }
    }

    /// Shows the current state of a message already on screen (an edit, or a deletion); one not shown is left alone.
    mutating func replace(_ message: Message) {
        guard let index = self.messages.firstIndex(where: { $0.id == message.id }) else { return }
        self.messages[index] = message
    }

    /// Moves a conversation to the top of the list (newest activity first), keeping the selection on the same one.
    mutating func bump(_ id: String) {
        guard let index = self.conversations.firstIndex(where: { $0.id == id }), index > 0 else { return }
        let selectedID = self.conversations.indices.contains(self.selected) ? self.conversations[self.selected].id : nil
        let conversation = self.conversations.remove(at: index)
        self.conversations.insert(conversation, at: 0)
        if let selectedID, let newIndex = self.conversations.firstIndex(where: { $0.id == selectedID }) { self.selected = newIndex }
    }

    static func message(from json: [String: Any]) -> Message? {
        guard let idText = json["id"] as? String, let id = Int64(idText) else { return nil }
        let user = json["user"] as? [String: Any]
        let createdAt = json["createdAt"] as? String ?? ""
        // `2026-11-25T10:00:01.000000Z` → `10:00`
        let time = createdAt.count >= 16 ? String(createdAt.dropFirst(11).prefix(5)) : ""
        // A tombstone has no content left; an edited message says so, as the web app does.
        var content = json["content"] as? String ?? ""
        if json["deleted"] as? Bool == true {
            content = "(message deleted)"
        } else if json["editedAt"] is String {
            content += " (edited)"
        }
        return Message(
            id: id,
            author: user?["username"] as? String ?? "?",
            content: content,
            mine: json["mine"] as? Bool ?? false,
            time: time
        )
    }

    static func conversation(from json: [String: Any]) -> Conversation? {
        guard let id = json["id"] as? String else { return nil }
        let other = json["otherParticipant"] as? [String: Any]
        let title = json["title"] as? String ?? other?["username"] as? String ?? "conversation \(id)"
        return Conversation(id: id, title: title, unread: json["unreadCount"] as? Int ?? 0)
    }
}
