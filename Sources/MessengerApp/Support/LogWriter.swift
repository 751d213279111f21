import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The way log lines reach a descriptor: whoever logs only appends the line to a buffer, and a thread of the writer's
/// own makes the `write(2)`s.
///
/// Why: requests log from the event loops and the cooperative pool, and a `write(2)` to standard error blocks as soon
/// as whatever reads it stops reading — a terminal paused with Ctrl-S, a pipe to a stuck log collector. Written from
/// the request, a pipe nobody read stopped the whole server after ~460 requests (its 64 KiB filled). Here only this
/// thread waits. While it cannot write, up to ``capacity`` bytes wait; lines beyond that are dropped and counted, and
/// the count follows as a line of its own once the descriptor takes lines again.
///
/// Lines leave in batches: the thread wakes for the first line after a quiet spell, writes, and then looks again every
/// ``interval`` for as long as lines keep coming. So a busy server makes one `write(2)` per interval rather than one per
/// request, and a request never wakes a thread (only the first line after a quiet spell does). A line waits at most
/// about one interval: that is what a crash can lose. ``flush(timeout:)`` waits for everything logged before it.
public final class LogWriter: Sendable {
    /// The writer for standard error, which the server's log handler uses (``LineLogHandler``).
    public static let standardError = LogWriter(descriptor: STDERR_FILENO)

    /// Where the lines go. The writer never closes it.
    public let descriptor: Int32
    /// The most bytes that wait for the descriptor; a line that does not fit is dropped (and counted).
    public let capacity: Int
    /// How long the thread gathers lines between two writes while lines keep coming.
    public let interval: Duration

    private struct State {
        var pending: [UInt8] = []
        /// Lines dropped since the last batch was taken.
        var dropped = 0
        /// Bytes accepted and bytes handed to `write(2)` (written, or lost to a descriptor that failed), for flushing.
        var accepted = 0
        var written = 0
        /// The thread waits for ``wake`` (a line then signals it).
        var sleeping = false
        var stopping = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    /// A writer for `descriptor` with a thread of its own, which lives until ``stop()``.
    public init(descriptor: Int32, capacity: Int = 1 << 20, interval: Duration = .milliseconds(10)) {
        self.descriptor = descriptor
        self.capacity = capacity
        self.interval = interval
        Thread.detachNewThread { self.run() }
    }

    /// Takes `line` (which should end in a newline) without waiting for anything but a short lock. Returns false if the
    /// line was dropped: the descriptor has not taken the ``capacity`` bytes before it, or the writer was stopped.
    @discardableResult
    public func write(_ line: String) -> Bool {
        var line = line
        return line.withUTF8 { bytes in
            let (accepted, signal) = self.state.withLock { state -> (Bool, Bool) in
                guard !state.stopping, state.pending.count + bytes.count <= self.capacity else {
                    state.dropped += 1
                    return (false, false)
                }
                state.pending.append(contentsOf: bytes)
                state.accepted += bytes.count
                guard state.sleeping else { return (true, false) }
                state.sleeping = false
                return (true, true)
            }
            if signal { self.wake.signal() }
            return accepted
        }
    }

    /// Returns once every line taken before the call has been handed to the descriptor, or after `timeout` (a
    /// descriptor nobody reads must not keep a process from exiting). True if everything was handed over.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) async -> Bool {
        let target = self.state.withLock { $0.accepted }
        let deadline = ContinuousClock.now + timeout
        while self.state.withLock({ $0.written }) < target {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return true
    }

    /// Writes what was taken and ends the thread; later lines are dropped. For writers made for a while (tests); the
    /// server's ``standardError`` lives as long as the process.
    public func stop() {
        let signal = self.state.withLock { state -> Bool in
            state.stopping = true
            guard state.sleeping else { return false }
            state.sleeping = false
            return true
        }
        if signal { self.wake.signal() }
    }

    private func run() {
        var batch: [UInt8] = []
        while true {
            enum Next {
                case write(dropped: Int)
                case sleep
                case end
            }
            let next = self.state.withLock { state -> Next in
                if state.pending.isEmpty && state.dropped == 0 {
                    if state.stopping { return .end }
                    state.sleeping = true
                    return .sleep
                }
                // The two buffers trade places, so neither is allocated again while lines keep coming.
                swap(&state.pending, &batch)
                defer { state.dropped = 0 }
                return .write(dropped: state.dropped)
            }
            switch next {
            case .end:
                return
            case .sleep:
                self.wake.wait()
            case .write(let dropped):
                Self.writeAll(batch, to: self.descriptor)
                if dropped > 0 {
                    // A line like every other (``LineLogHandler``'s), written here: the buffer may still be full.
                    let event = LogEvent(
                        level: .warning, message: "\(dropped) log lines dropped: the log's reader did not take them in time", metadata: nil,
                        source: "MessengerApp", file: #fileID, function: #function, line: #line)
                    Self.writeAll(Array(LineLogHandler(label: "messenger", writer: self).line(for: event).utf8), to: self.descriptor)
                }
                let count = batch.count
                batch.removeAll(keepingCapacity: true)
                self.state.withLock { $0.written += count }
                // Lines that arrive meanwhile wait for this batch's successor instead of waking the thread.
                Thread.sleep(forTimeInterval: self.interval / .seconds(1))
            }
        }
    }

    /// Writes all of `bytes`, going on after a partial write or an interrupted call; bytes the descriptor refuses
    /// (closed, an error) are dropped, as swift-log's `StreamLogHandler` drops them.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                #if canImport(Glibc)
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                    let written = Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
