import CLibPQ
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One thread that waits in `epoll` for the sockets of the pool's connections while their statements run.
///
/// Why: with libpq's blocking calls every statement woke a pool thread to send it and then woke the caller's task
/// when the answer came (two hand-offs on top of the round trip; `messenger pool-overhead` measured 13–30 µs per
/// `SELECT 1` here). With libpq's non-blocking API the caller's task sends the statement itself (a non-blocking
/// `send`), and only the answer needs a thread: this one, shared by every connection of the pool. It never calls
/// libpq: it only reports readiness, and the waiting task reads the answer (`PQconsumeInput`, which does not block).
///
/// A socket is armed for one event at a time (`EPOLLONESHOT`), and a connection has at most one statement in flight,
/// so there is at most one waiter per socket.
public final class PostgresSocketPoller: Sendable {
    /// What a waiter learns: the socket is ready, or the poller stopped (the pool is shutting down).
    enum Wake: Sendable {
        case ready
        case stopped
    }

    private struct State {
        var waiters: [Int32: CheckedContinuation<Wake, Never>] = [:]
        var isStopped = false
    }

    private let epoll: Int32
    /// An eventfd in the set: written once by ``stop()`` to end the loop.
    private let wakeFD: Int32
    private let state = Mutex(State())
    private let thread: NIOThreadPool

    /// Starts the polling thread.
    public init() {
        self.epoll = clibpq_epoll_create()
        self.wakeFD = eventfd(0, Int32(EFD_CLOEXEC))
        precondition(self.epoll >= 0 && self.wakeFD >= 0, "cannot create the socket poller's epoll or eventfd")
        precondition(clibpq_epoll_watch(self.epoll, self.wakeFD) == 0, "cannot watch the socket poller's eventfd")
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
        let epoll = self.epoll
        let wakeFD = self.wakeFD
        self.thread.submit { [self] _ in self.loop(epoll: epoll, wakeFD: wakeFD) }
    }

    deinit {
        close(self.epoll)
        close(self.wakeFD)
    }

    /// Suspends until `socket` is readable (or writable, when `writable`), or the poller is stopped.
    func wait(for socket: Int32, writable: Bool = false) async -> Wake {
        await withCheckedContinuation { continuation in
            let armed = self.state.withLock { state -> Bool in
                if state.isStopped { return false }
                state.waiters[socket] = continuation
                // Armed under the lock, after the waiter is stored: the event cannot be reported before it can be
                // matched, and `stop()` cannot slip between the check and the store.
                if clibpq_epoll_arm_once(self.epoll, socket, writable ? 1 : 0) != 0 {
                    state.waiters[socket] = nil
                    return false
                }
                return true
            }
            // Stopped, or epoll refused the socket (closed under us): the caller's next libpq call finds out which.
            if !armed { continuation.resume(returning: self.state.withLock { $0.isStopped } ? .stopped : .ready) }
        }
    }

    /// Ends the thread; tasks still waiting are woken with ``Wake/stopped``. Idempotent.
    public func stop() async {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Wake, Never>] in
            if state.isStopped { return [] }
            state.isStopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .stopped) }
        var one: UInt64 = 1
        _ = write(self.wakeFD, &one, 8)
        try? await self.thread.shutdownGracefully()
    }

    private func loop(epoll: Int32, wakeFD: Int32) {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let count = clibpq_epoll_wait(epoll, &ready, Int32(ready.count))
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            if count == 0 { continue }
            var woken: [CheckedContinuation<Wake, Never>] = []
            var stop = false
            self.state.withLock { state in
                for index in 0..<Int(count) {
                    let socket = ready[index]
                    if socket == wakeFD {
                        stop = true
                    } else if let waiter = state.waiters.removeValue(forKey: socket) {
                        woken.append(waiter)
                    }
                }
            }
            for waiter in woken { waiter.resume(returning: .ready) }
            if stop { return }
        }
    }
}
