import ArgumentParser

/// The `messenger` command line.
@main
struct Messenger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A conversation-based messenger: REST API, Server-Sent Events, PostgreSQL.",
        version: MessengerVersion.description,
        subcommands: [Serve.self, Migrate.self, PoolOverhead.self, Chat.self],
        defaultSubcommand: Serve.self
    )
}
