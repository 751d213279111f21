import NIOCore
import Synchronization

/// Lets at most `limit` callers run a body at once; the others wait their turn in arrival order.
///
/// Why: some work is cheap for one caller and ruinous in a crowd. A thousand streams of one big group opening
/// together each read their contacts' presence (a thousand rows each); unlimited, those reads filled the database
/// pool's queue and a message sent meanwhile waited seconds behind them.
final class AsyncLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters = CircularBuffer<CheckedContinuation<Void, Never>>()
    }

    private let state: Mutex<State>

    init(limit: Int) {
        self.state = Mutex(State(available: max(1, limit)))
    }

    func run<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await self.acquire()
        defer { self.release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = self.state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    private func release() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            // Handed straight to the next waiter: the slot never becomes free for a newcomer to overtake it.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
