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

    /// What a reader took from a pipe, on a thread of its own (not the cooperative pool, which a blocking read would
    /// starve), until end of file.
    final class Drain: Sendable {
        let received = Mutex<[UInt8]>([])
        let done = DispatchGroup()

        init(_ descriptor: Int32) {
            self.done.enter()
            Thread.detachNewThread {
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = read(descriptor, &chunk, chunk.count)
                    if count <= 0 { break }
                    self.received.withLock { $0 += chunk[..<count] }
                }
                close(descriptor)
                self.done.leave()
            }
        }

        /// The lines read, once the writing end is closed.
        func lines() async -> [Substring] {
            await withCheckedContinuation { continuation in self.done.notify(queue: .global()) { continuation.resume() } }
            return String(decoding: self.received.withLock { $0 }, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        }
    }

    /// Whether `semaphore` was signalled within `seconds`, waited for off the cooperative pool.
    static func wait(for semaphore: DispatchSemaphore, seconds: Int) async -> Bool {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: semaphore.wait(timeout: .now() + .seconds(seconds)) == .success) }
        }
    }

    /// Logs `count` lines as writer `writerIndex` through a ``LineLogHandler`` on `writer`: the lines ``parse(_:)`` reads.
    static func log(_ count: Int, as writerIndex: Int, to writer: LogWriter) {
        var logger = Logger(label: "w\(writerIndex)") { LineLogHandler(label: $0, writer: writer) }
        logger[metadataKey: "writer"] = "\(writerIndex)"
        for index in 0..<count {
            logger.info("\(String(repeating: "x", count: 200 + writerIndex)) \(index) end")
        }
    }

    /// `<time> info w<k>: writer=<k> [MessengerTests] xxx…(200+k) <index> end` as (k, index); nil for anything else.
    static func parse(_ line: Substring) -> (writer: Int, index: Int)? {
        let parts = line.split(separator: " ")
        guard parts.count == 8, let writerIndex = Int(parts[2].dropFirst().dropLast()), parts[3] == "writer=\(writerIndex)",
            parts[5].count == 200 + writerIndex, parts[7] == "end", let index = Int(parts[6])
        else { return nil }
        return (writerIndex, index)
    }

    @Test("lines logged at once by many threads arrive whole, each thread's in its order", .timeLimit(.minutes(1)))
    func wholeLines() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (reader, writer) = (descriptors[0], descriptors[1])
        // A reader draining the pipe while eight threads log 64 KiB many times over, each line in one call.
        let drain = Drain(reader)
        let logWriter = LogWriter(descriptor: writer)
        let writers = 8
        let linesEach = 500
        let written = DispatchGroup()
        for writerIndex in 0..<writers {
            written.enter()
            Thread.detachNewThread {
                Self.log(linesEach, as: writerIndex, to: logWriter)
                written.leave()
            }
        }
        await withCheckedContinuation { continuation in written.notify(queue: .global()) { continuation.resume() } }
        #expect(await logWriter.flush(timeout: .seconds(30)))
        logWriter.stop()
        close(writer)
        let lines = await drain.lines()
        #expect(lines.count == writers * linesEach + 1)
        #expect(lines.last == "")
        var next = [Int](repeating: 0, count: writers)
        for line in lines.dropLast() {
            guard let (writerIndex, index) = Self.parse(line), index == next[writerIndex] else {
                Issue.record("broken or out-of-order line: \(line.prefix(120))")
                return
            }
            next[writerIndex] += 1
        }
        #expect(next == [Int](repeating: linesEach, count: writers))
    }

    /// The Ctrl-S case: standard error stops being read (a paused terminal, a stuck log collector). Logging is done
    /// from event loops; written there directly, the first full pipe (64 KiB) blocked every request of the server.
    @Test("a reader that stops reading blocks nobody who logs: lines beyond the capacity are dropped and counted", .timeLimit(.minutes(1)))
    func stalledReader() async throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let (reader, writer) = (descriptors[0], descriptors[1])
        let logWriter = LogWriter(descriptor: writer, capacity: 64 * 1024)
        // ~1.1 MB of lines into a pipe nobody reads yet, from a thread of its own (were it blocked, it is not the
        // test's), which must get through all of them.
        let lines = 5_000
        let logged = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Self.log(lines, as: 0, to: logWriter)
            logged.signal()
        }
        let finished = await Self.wait(for: logged, seconds: 20)
        #expect(finished, "logging waited for a reader that does not read")
        // Now the reader comes back: what waited arrives, then the count of what did not fit.
        let drain = Drain(reader)
        if !finished { _ = await Self.wait(for: logged, seconds: 20) }
        #expect(await logWriter.flush(timeout: .seconds(30)))
        logWriter.stop()
        close(writer)
        // Every line arrives whole and in order, and every gap in the indices is a count of dropped lines, written
        // right after the last line before the gap: `expected` is the index the next line must have.
        var expected = 0
        var delivered = 0
        var counts = 0
        for line in await drain.lines().dropLast() {  // the empty rest after the last newline
            if let (_, index) = Self.parse(line), index == expected {
                expected += 1
                delivered += 1
            } else if let dropped = Self.droppedCount(line) {
                expected += dropped
                counts += 1
            } else {
                Issue.record("broken, out-of-order or unaccounted line: \(line.prefix(160))")
                return
            }
        }
        #expect(expected == lines, "delivered \(delivered) lines, accounted for \(expected) of \(lines)")
        #expect(delivered > 0 && counts > 0 && delivered < lines)
    }

    /// N of `<time> warning messenger: [MessengerApp] N log lines dropped: the log's reader did not take them in time`.
    static func droppedCount(_ line: Substring) -> Int? {
        let parts = line.split(separator: " ", maxSplits: 5)
        guard parts.count == 6, parts[1] == "warning", parts[2] == "messenger:", parts[3] == "[MessengerApp]",
            parts[5] == "log lines dropped: the log's reader did not take them in time"
        else { return nil }
        return Int(parts[4])
    }
}
