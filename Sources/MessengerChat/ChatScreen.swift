/// Draws the state as one full screen of plain ANSI: a title bar, the list or the conversation, the input line and
/// a help line. Every line is cut to the width, so a resize just redraws.
enum ChatScreen {
    static func render(_ state: ChatState, rows: Int, columns: Int) -> String {
        let width = max(columns, 20)
        let bodyHeight = max(rows - 3, 1)
        var lines: [String] = []
        let connection = state.connected ? "connected" : "reconnecting…"
        lines.append(Self.reverse(Self.fit(" messenger · \(state.username) · \(connection)", width)))
        var body: [String] = []
        switch state.mode {
        case .list, .prompt:
            if state.conversations.isEmpty { body.append(" No conversations yet: press n to start one.") }
            for (index, conversation) in state.conversations.enumerated() {
                let unread = conversation.unread > 0 ? " (\(conversation.unread))" : ""
                let text = Self.fit(" \(conversation.title)\(unread)", width)
                body.append(index == state.selected ? Self.reverse(text) : (conversation.unread > 0 ? Self.bold(text) : text))
            }
            // Keep the selection visible.
            if body.count > bodyHeight {
                let start = min(max(state.selected - bodyHeight + 1, 0), body.count - bodyHeight)
                body = Array(body[start..<(start + bodyHeight)])
            }
        case .conversation:
            var all: [String] = []
            for message in state.messages {
                let prefix = "[\(message.time)] \(message.mine ? "me" : message.author): "
                all += Self.wrap(prefix + message.content, width: width - 1).map { " " + $0 }
            }
            let end = max(all.count - state.scroll, 0)
            let start = max(end - bodyHeight, 0)
            body = Array(all[start..<end])
            if body.count < bodyHeight && start == 0 && state.hasOlder && !state.messages.isEmpty {
                body.insert(" (PgUp for older messages)", at: 0)
            }
        }
        while body.count < bodyHeight { body.append("") }
        lines += body.prefix(bodyHeight)
        switch state.mode {
        case .list: lines.append("")
        case .conversation: lines.append(Self.fit("\(state.openTitle)> \(state.input)", width))
        case .prompt: lines.append(Self.fit("Start a conversation with (username): \(state.input)", width))
        }
        let help: String
        switch state.mode {
        case .list: help = "↑/↓ select · Enter open · n new 1:1 · q quit"
        case .conversation: help = "Enter send · PgUp/PgDn scroll · Esc back · Ctrl-C quit"
        case .prompt: help = "Enter start · Esc cancel"
        }
        var statusLine = state.status.isEmpty ? help : state.status + " · " + help
        if let typing = state.typing, state.mode == .conversation { statusLine = "\(typing) is typing… · " + statusLine }
        lines.append(Self.dim(Self.fit(statusLine, width)))
        // Home, then each line cleared to its end: no flicker, nothing left over after a resize.
        return "\u{1B}[H" + lines.map { $0 + "\u{1B}[K" }.joined(separator: "\r\n") + "\u{1B}[J"
    }

    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(width - 1, 0))) + "…"
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [text] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var rest = Substring(paragraph)
            repeat {
                lines.append(String(rest.prefix(width)))
                rest = rest.dropFirst(width)
            } while !rest.isEmpty
        }
        return lines
    }

    static func reverse(_ text: String) -> String { "\u{1B}[7m" + text + "\u{1B}[0m" }
    static func bold(_ text: String) -> String { "\u{1B}[1m" + text + "\u{1B}[0m" }
    static func dim(_ text: String) -> String { "\u{1B}[2m" + text + "\u{1B}[0m" }
}
