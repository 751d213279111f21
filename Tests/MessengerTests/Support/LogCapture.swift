import Foundation
import Logging
import Synchronization

/// Collects every log line the server writes, so tests can check what was (not) logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { self.lines.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "messenger-test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .info
        return logger
    }

    fileprivate func append(_ line: String) { self.lines.withLock { $0.append(line) } }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.capture.append("\(event.level) \(event.message) \(merged)")
            if event.level >= .warning { FileHandle.standardError.write(Data("SERVERLOG \(event.level) \(event.message) \(merged)\n".utf8)) }
        }
    }
}
