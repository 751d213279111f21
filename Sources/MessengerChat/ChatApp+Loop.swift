import Foundation

extension ChatApp {
    /// The client's behaviour: what each key and each frame does to the state.
    struct Loop {
        let api: ChatAPI
        let socket: ChatSocket
        var state: ChatState

        // MARK: Keys

        /// Handles a key; false to quit.
        mutating func handle(_ key: Key) async -> Bool {
            if key == .interrupt { return false }
            self.state.status = ""
            switch self.state.mode {
            case .list:
                switch key {
                case .up: self.state.selected = max(self.state.selected - 1, 0)
                case .down: self.state.selected = min(self.state.selected + 1, max(self.state.conversations.count - 1, 0))
                case .enter:
                    if self.state.conversations.indices.contains(self.state.selected) {
                        await self.open(self.state.conversations[self.state.selected].id)
                    }
                case .character("n"):
                    self.state.mode = .prompt
                    self.state.input = ""
                case .character("q"): return false
                case .character("r"): await self.reloadConversations()
                default: break
                }
            case .prompt:
                switch key {
                case .escape:
                    self.state.mode = .list
                    self.state.input = ""
                case .enter:
                    let name = self.state.input.trimmingCharacters(in: .whitespaces)
                    self.state.input = ""
                    guard !name.isEmpty else { break }
                    do {
                        let id = try await self.api.startConversation(with: name)
                        await self.reloadConversations()
                        await self.open(id)
                    } catch {
                        self.state.mode = .list
                        self.state.status = "\(error)"
                    }
                default: self.edit(key)
                }
            case .conversation:
                switch key {
                case .escape:
                    self.state.mode = .list
                    self.state.openID = nil
                    self.state.input = ""
                case .enter: await self.send()
                case .pageUp, .up: await self.scrollUp(by: key == .up ? 1 : 10)
                case .pageDown, .down: self.state.scroll = max(self.state.scroll - (key == .down ? 1 : 10), 0)
                default: self.edit(key)
                }
            }
            return true
        }

        private mutating func edit(_ key: Key) {
            switch key {
            case .character(let character): self.state.input.append(character)
            case .backspace: if !self.state.input.isEmpty { self.state.input.removeLast() }
            default: break
            }
        }

        private mutating func send() async {
            let content = self.state.input.trimmingCharacters(in: .whitespaces)
            guard !content.isEmpty, let id = self.state.openID else { return }
            // The clientId makes a resend after a lost answer harmless (the server returns the stored message).
            let frame: [String: Any] = ["type": "send", "conversationId": id, "content": content, "clientId": UUID().uuidString]
            if await self.socket.send(frame) {
                self.state.input = ""
            } else {
                self.state.status = "not connected: the message is kept, press Enter again"
            }
        }

        private mutating func scrollUp(by lines: Int) async {
            self.state.scroll += lines
            // Near the top of what is loaded: fetch the page before it.
            let loadedLines = self.state.messages.count
            if self.state.scroll + 30 > loadedLines, self.state.hasOlder, let id = self.state.openID {
                let before = self.state.messages.first.map { String($0.id) }
                if let older = try? await self.api.messages(conversationID: id, before: before) {
                    if older.isEmpty { self.state.hasOlder = false }
                    for json in older { if let message = ChatState.message(from: json) { self.state.insert(message) } }
                }
            }
        }

        // MARK: Loading

        mutating func reloadConversations() async {
            do {
                let list = try await self.api.conversations()
                self.state.conversations = list.compactMap(ChatState.conversation(from:))
                self.state.selected = min(self.state.selected, max(self.state.conversations.count - 1, 0))
            } catch {
                self.state.status = "could not load conversations: \(error)"
            }
        }

        mutating func open(_ id: String) async {
            self.state.openID = id
            self.state.mode = .conversation
            self.state.messages = []
            self.state.scroll = 0
            self.state.hasOlder = true
            self.state.typing = nil
            if let index = self.state.conversations.firstIndex(where: { $0.id == id }) {
                self.state.conversations[index].unread = 0
                self.state.selected = index
            }
            await self.reloadMessages()
        }

        private mutating func reloadMessages() async {
            guard let id = self.state.openID else { return }
            do {
                let page = try await self.api.messages(conversationID: id, before: nil)
                self.state.messages = []
                self.state.hasOlder = page.count >= 50
                for json in page { if let message = ChatState.message(from: json) { self.state.insert(message) } }
                if let last = self.state.messages.last {
                    _ = await self.socket.send(["type": "read", "conversationId": id, "upTo": String(last.id)])
                }
            } catch {
                self.state.status = "could not load messages: \(error)"
            }
        }

        // MARK: Socket

        mutating func handle(_ event: ChatSocket.Event) async {
            switch event {
            case .connected:
                self.state.connected = true
                self.state.status = ""
            case .disconnected(let reason):
                self.state.connected = false
                self.state.status = "disconnected: \(reason); reconnecting"
            case .frame(let text):
                guard let frame = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
                await self.handle(frame: frame)
            }
        }

        private mutating func handle(frame: [String: Any]) async {
            let data = frame["data"] as? [String: Any] ?? [:]
            switch frame["type"] as? String {
            case "message", "ack":
                guard let message = ChatState.message(from: data), let conversationID = data["conversationId"] as? String else { return }
                if !self.state.conversations.contains(where: { $0.id == conversationID }) { await self.reloadConversations() }
                self.state.bump(conversationID)
                if conversationID == self.state.openID {
                    self.state.insert(message)
                    if !message.mine {
                        self.state.typing = nil
                        _ = await self.socket.send(["type": "read", "conversationId": conversationID, "upTo": String(message.id)])
                    }
                } else if !message.mine, frame["type"] as? String == "message",
                    let index = self.state.conversations.firstIndex(where: { $0.id == conversationID })
                {
                    self.state.conversations[index].unread += 1
                }
            case "message_updated", "message_deleted":
                guard let message = ChatState.message(from: data), data["conversationId"] as? String == self.state.openID else { return }
                self.state.replace(message)
            case "read":
                // Read on another device of ours: nothing is unread there any more.
                if data["userId"] as? String == self.state.userID, let id = data["conversationId"] as? String,
                    let index = self.state.conversations.firstIndex(where: { $0.id == id })
                {
                    self.state.conversations[index].unread = 0
                }
            case "conversation":
                await self.reloadConversations()
            case "reset":
                // Our position was unknown to the server: reload what is shown, then continue live.
                await self.reloadConversations()
                await self.reloadMessages()
            case "typing":
                if data["conversationId"] as? String == self.state.openID {
                    self.state.typing = (data["typing"] as? Bool ?? false) ? data["username"] as? String : nil
                }
            case "error":
                self.state.status = "error: \(data["error"] as? String ?? "?")"
            default:
                break
            }
        }
    }
}
