import Foundation
import Logging
import Synchronization
import Testing

@testable import MessengerApp

/// The server's log lines: the same text `StreamLogHandler` writes, and whole lines under concurrent writers.
@Suite struct LineLogHandlerTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "the disk is full" }
    }

    /// Collects what `StreamLogHandler` writes.
    final class Collected: TextOutputStream, Sendable {
        let text = Mutex("")
        func write(_ string: String) { self.text.withLock { $0 += string } }
    }

    @Test(
        "each event gives the line StreamLogHandler gives: time, level, label, metadata sorted, source, message",
        arguments: [
            (LogEvent(level: .info, message: "POST /api/x 201", metadata: nil, source: "MessengerApp", file: "", function: "", line: 0), [:]),
            (
                LogEvent(
                    level: .warning, message: "slow", metadata: ["duration_us": "812", "b": "explicit"], source: "S", file: "", function: "",
                    line: 0), ["hb.request.id": "abc", "b": "base", "z": ["x", "y"]]
            ),
            (
                LogEvent(
                    level: .error, message: "failed", error: Failure(), metadata: ["a": ["k": "v"]], source: "", file: "", function: "", line: 0),
                ["c": "3"]
            ),
        ] as [(LogEvent, Logger.Metadata)]
    )
    func sameLines(_ event: LogEvent, _ base: Logger.Metadata) {
        let provider = Logger.MetadataProvider { ["provided": "p", "b": "provider"] }
        for withProvider in [false, true] {
            var ours = LineLogHandler(label: "messenger", metadataProvider: withProvider ? provider : nil)
            let collected = Collected()
            var theirs = StreamLogHandler(label: "messenger", stream: collected, metadataProvider: withProvider ? provider : nil)
            for (key, value) in base {
                ours[metadataKey: key] = value
                theirs[metadataKey: key] = value
            }
            // Retried if a second starts between the two lines.
            for _ in 0..<5 {
                collected.text.withLock { $0 = "" }
                let second = time(nil)
                theirs.log(event: event)
                let line = ours.line(for: event, now: time(nil))
                guard time(nil) == second else { continue }
                #expect(line == collected.text.withLock { $0 })
                break
            }
        }
    }

    @Test("lines written at once by many threads arrive whole, one per write")
    func wholeLines() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (reader, writer) = (descriptors[0], descriptors[1])
        // Threads of their own (not the cooperative pool, which a blocking read would starve): a reader draining the
        // pipe while eight writers fill it (64 KiB) many times over, each line from one thread in one call.
        let done = DispatchGroup()
        let received = Mutex<[UInt8]>([])
        done.enter()
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(reader, &chunk, chunk.count)
                if count <= 0 { break }
                received.withLock { $0 += chunk[..<count] }
            }
            close(reader)
            done.leave()
        }
        let writers = 8
        let linesEach = 500
        let written = DispatchGroup()
        for writerIndex in 0..<writers {
            written.enter()
            Thread.detachNewThread {
                var logger = Logger(label: "w\(writerIndex)") { LineLogHandler(label: $0, descriptor: writer) }
                logger[metadataKey: "writer"] = "\(writerIndex)"
                for index in 0..<linesEach {
                    logger.info("\(String(repeating: "x", count: 200 + writerIndex)) \(index) end")
                }
                written.leave()
            }
        }
        await withCheckedContinuation { continuation in written.notify(queue: .global()) { continuation.resume() } }
        close(writer)
        await withCheckedContinuation { continuation in done.notify(queue: .global()) { continuation.resume() } }
        let lines = String(decoding: received.withLock { $0 }, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == writers * linesEach + 1)
        #expect(lines.last == "")
        var seen = Set<String>()
        for line in lines.dropLast() {
            // `<time> info w<k>: writer=<k> [MessengerTests] xxx…(200+k) <index> end`
            let parts = line.split(separator: " ")
            guard parts.count == 8, let writerIndex = Int(parts[2].dropFirst().dropLast()), parts[3] == "writer=\(writerIndex)",
                parts[5].count == 200 + writerIndex, parts[7] == "end"
            else {
                Issue.record("broken line: \(line.prefix(120))")
                return
            }
            seen.insert("\(writerIndex)/\(parts[6])")
        }
        #expect(seen.count == writers * linesEach)
    }
}
