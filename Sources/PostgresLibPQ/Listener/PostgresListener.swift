import CLibPQ
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// LISTENs on its own connection and yields notifications as an `AsyncSequence`.
///
/// The connection is driven by `poll()` on a dedicated thread (never an event loop). When the connection is lost
/// it reconnects with backoff, LISTENs again and yields ``PostgresListenerEvent/listening(isReconnect:)`` so the
/// consumer can catch up from tables: notifications are not durable.
public final class PostgresListener: Service, Sendable {
    public let configuration: PostgresConfiguration
    public let channels: [String]
    /// The notifications and connection events; meant for one consumer.
    public let events: AsyncStream<PostgresListenerEvent>
    private let continuation: AsyncStream<PostgresListenerEvent>.Continuation
    private let logger: Logger
    private let thread: NIOThreadPool
    private let stopped = Atomic<Bool>(false)
    private let backendPIDValue = Atomic<Int32>(0)
    /// A pipe whose write end wakes the poll loop for a prompt shutdown.
    private let wakeRead: Int32
    private let wakeWrite: Int32

    /// - Parameter channels: channel names; lowercase letters, digits and `_` only (they are code constants).
    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) {
        precondition(
            channels.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 } },
            "channel names must be [a-z0-9_]+"
        )
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        self.thread = NIOThreadPool(numberOfThreads: 1)
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        self.wakeRead = fds[0]
        self.wakeWrite = fds[1]
    }

    deinit {
        close(self.wakeRead)
        close(self.wakeWrite)
    }

    /// The listening backend's pid, 0 when not connected (tests terminate it to simulate a lost connection).
    public var backendPID: Int32 { self.backendPIDValue.load(ordering: .relaxed) }

    /// Listens until graceful shutdown, cancellation (a failed start cancels the whole group) or ``stop()``.
    public func run() async throws {
        self.thread.start()
        // The loop blocks a thread in poll() and does not see task cancellation by itself: both shutdown paths
        // wake it through the pipe, so it also ends while it is retrying a connection that cannot succeed.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                _ = try? await self.thread.runIfActive { self.loop() }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
        self.continuation.finish()
        try? await self.thread.shutdownGracefully()
    }

    /// Ends the listening loop; safe to call from any thread, any number of times, before or during ``run()``.
    public func stop() {
        self.stopped.store(true, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(self.wakeWrite, &byte, 1)
    }

    private func loop() {
        var connectedBefore = false
        var backoff: UInt32 = 50_000
        while !self.stopped.load(ordering: .relaxed) {
            let connection: PostgresConnection
            do {
                connection = try PostgresConnection(configuration: self.configuration, id: -1, logger: self.logger)
                for channel in self.channels {
                    try connection.unsafeExecute("LISTEN \(channel)")
                }
            } catch {
                self.logger.warning("listener cannot connect, retrying", metadata: ["error": "\(error.debugDescription)"])
                self.sleep(microseconds: backoff)
                backoff = min(backoff * 2, 2_000_000)
                continue
            }
            backoff = 50_000
            self.backendPIDValue.store(connection.backendPID, ordering: .relaxed)
            self.continuation.yield(.listening(isReconnect: connectedBefore))
            if let conn = connection.rawConnection { self.yieldNotifications(conn) }
            if connectedBefore {
                self.logger.info("listener reconnected")
            }
            connectedBefore = true
            self.drain(connection)
            self.backendPIDValue.store(0, ordering: .relaxed)
            connection.close()
        }
    }

    /// Reads notifications until the connection breaks or the listener stops.
    private func drain(_ connection: PostgresConnection) {
        guard let conn = connection.rawConnection else { return }
        let socket = PQsocket(conn)
        var idleTicks = 0
        while !self.stopped.load(ordering: .relaxed) {
            var descriptors = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: self.wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            // Wake at least every 5 s to check that the server is still there.
            let ready = poll(&descriptors, 2, 5_000)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if descriptors[1].revents != 0 { return }
            if ready == 0 {
                idleTicks += 1
                // An idle TCP connection to a vanished server is only noticed when we send something.
                if idleTicks >= 6 {
                    idleTicks = 0
                    if (try? connection.unsafeExecute("SELECT 1")) == nil { return }
                    // The command read whatever the socket held, notifications included: they now sit in libpq's
                    // queue and the socket will not become readable for them again.
                    self.yieldNotifications(conn)
                }
                continue
            }
            idleTicks = 0
            if PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK {
                self.logger.warning("listener lost its connection")
                return
            }
            self.yieldNotifications(conn)
        }
    }

    /// Hands every notification libpq has already read to the consumer.
    private func yieldNotifications(_ conn: OpaquePointer) {
        while let notify = PQnotifies(conn) {
            let notification = PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra),
                senderPID: notify.pointee.be_pid
            )
            PQfreemem(notify)
            self.continuation.yield(.notification(notification))
        }
    }

    private func sleep(microseconds: UInt32) {
        var descriptor = pollfd(fd: self.wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(microseconds / 1000))
    }
}
