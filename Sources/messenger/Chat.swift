import ArgumentParser
import Foundation
import MessengerChat

/// `messenger chat`: the full-screen terminal client.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A full-screen terminal client for a running server (public API: REST and WebSocket).",
        discussion: """
            Keys: ↑/↓ and Enter open a conversation, n starts a 1:1 by username, Esc goes back, PgUp/PgDn scroll, \
            Enter sends, q or Ctrl-C quits. It reconnects by itself and resumes where it was.
            """
    )

    @Option(help: "The server's base URL.")
    var url = "http://127.0.0.1:3000"

    @Option(help: "Sign in as this user: dev login without --password, password login with it.")
    var username: String?

    @Option(help: "Password for --username (use the environment variable MESSENGER_PASSWORD to keep it out of ps).")
    var password: String?

    @Option(help: "Use this token instead of signing in (or MESSENGER_TOKEN).")
    var token: String?

    func validate() throws {
        if self.username == nil && self.resolvedToken == nil {
            throw ValidationError("give --username (dev login, or with --password) or --token")
        }
    }

    var resolvedToken: String? { self.token ?? ProcessInfo.processInfo.environment["MESSENGER_TOKEN"] }

    func run() async throws {
        let password = self.password ?? ProcessInfo.processInfo.environment["MESSENGER_PASSWORD"]
        do {
            try await ChatApp(baseURL: self.url, username: self.username, password: password, token: self.resolvedToken).run()
        } catch {
            FileHandle.standardError.write(Data("messenger chat: \(self.url): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
