import Foundation

/// The full-screen terminal client (`messenger chat`): one loop handles keys, socket frames and resizes in order,
/// so the state needs no locks. REST loads lists and history; the WebSocket carries everything live and the sends.
public final class ChatApp: Sendable {
    enum Input: Sendable {
        case terminal(Terminal.Input)
        case socket(ChatSocket.Event)
    }

    let baseURL: String
    let username: String
    let password: String?
    let token: String?

    /// - Parameters:
    ///   - username: for a dev login, or with `password`; ignored with `token`.
    public init(baseURL: String, username: String?, password: String?, token: String?) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.username = username ?? ""
        self.password = password
        self.token = token
    }

    /// Signs in, then runs until the user quits.
    public func run() async throws {
        let api: ChatAPI
        var username = self.username
        let userID: String
        if let token = self.token {
            api = ChatAPI(baseURL: self.baseURL, token: token)
            let me = try await api.me()
            guard let id = me["id"] as? String else { throw ChatAPI.Failure(description: "the token was refused") }
            userID = id
            username = me["username"] as? String ?? username
        } else {
            let (token, id) = try await ChatAPI.login(baseURL: self.baseURL, username: self.username, password: self.password)
            api = ChatAPI(baseURL: self.baseURL, token: token)
            userID = id
        }
        let socket = ChatSocket(baseURL: self.baseURL, token: api.token)
        let terminal = Terminal()
        let (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        terminal.start()
        defer { terminal.stop() }
        let socketTask = Task { await socket.run() }
        let forwardTerminal = Task { for await input in terminal.inputs { continuation.yield(.terminal(input)) } }
        let forwardSocket = Task { for await event in socket.events { continuation.yield(.socket(event)) } }
        defer {
            socketTask.cancel()
            forwardTerminal.cancel()
            forwardSocket.cancel()
        }
        var state = ChatState(username: username, userID: userID)
        var loop = Loop(api: api, socket: socket, state: state)
        await loop.reloadConversations()
        state = loop.state
        terminal.write("\u{1B}[2J")
        self.draw(loop.state, on: terminal)
        for await input in inputs {
            switch input {
            case .terminal(.closed): return
            case .terminal(.resized): terminal.write("\u{1B}[2J")
            case .terminal(.bytes(let bytes)):
                for key in Key.parse(bytes) {
                    if await !loop.handle(key) { return }
                }
            case .socket(let event): await loop.handle(event)
            }
            self.draw(loop.state, on: terminal)
        }
    }

    private func draw(_ state: ChatState, on terminal: Terminal) {
        let size = terminal.size
        terminal.write(ChatScreen.render(state, rows: size.rows, columns: size.columns))
    }
}
