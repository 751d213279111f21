import ArgumentParser
import Foundation
import NIOCore
import PostgresLibPQ

#if canImport(Glibc)
    import Glibc
#endif

/// A start-up failure as the one line a user reads: what went wrong and what to do about it.
///
/// `serve` and `migrate` print it to standard error and exit with status 1 instead of letting a stack of log lines
/// (or ArgumentParser's generic "Error: …") stand in for an explanation.
struct StartupFailure: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { self.message }

    /// Prints `messenger: <line>` on standard error and returns the exit code to throw.
    static func report(_ error: any Error, database: String?) -> ExitCode {
        let line = Self.explain(error, database: database).message
        // One line, whatever the underlying text looked like (libpq messages span several).
        let flattened = line.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        FileHandle.standardError.write(Data("messenger: \(flattened)\n".utf8))
        return ExitCode(1)
    }

    /// Maps the errors start-up can meet to a sentence that says what to do.
    static func explain(_ error: any Error, database: String?) -> StartupFailure {
        switch error {
        case let failure as StartupFailure:
            return failure
        case let error as EmbeddedPostgres.EmbeddedError:
            switch error {
            case .notInstalled:
                return StartupFailure(
                    "PostgreSQL is not installed: install it with `apt-get install -y postgresql`, or point DATABASE_URL at a running server"
                )
            case .commandFailed(let command, _, let output):
                return StartupFailure(
                    "the embedded PostgreSQL failed (\(command)): \(Self.lastLine(output)); see the server.log in --data-dir, or use DATABASE_URL"
                )
            default:
                return StartupFailure(error.description)
            }
        case let error as PostgresMigrator.MigrationError:
            return StartupFailure("\(error.description)")
        case let error as PostgresError where error.isConnectionError:
            let target = database.map { " at \($0)" } ?? ""
            return StartupFailure(
                "cannot connect to PostgreSQL\(target): \(Self.firstLine(error.serverMessage)); check that the server is running and that DATABASE_URL has the right host, port, user, password and database"
            )
        case let error as PostgresError:
            return StartupFailure("PostgreSQL refused to start the server: \(Self.firstLine(error.serverMessage))")
        case let error as IOError where error.errnoCode == EADDRINUSE:
            return StartupFailure("cannot listen: the address is already in use")
        case let error as IOError where error.errnoCode == EACCES:
            return StartupFailure("cannot listen: permission denied (ports below 1024 need privileges); choose another port with --port")
        default:
            return StartupFailure("cannot start: \(String(describing: error))")
        }
    }

    /// How the database is named in messages: the URL or key=value string, its password masked.
    static func databaseLabel(_ url: String?) -> String? {
        guard let url else { return nil }
        let description = PostgresConfiguration(url: url).description
        return description.hasPrefix("dbname=") ? String(description.dropFirst("dbname=".count)) : description
    }

    private static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }

    private static func lastLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).last.map(String.init) ?? text
    }
}
