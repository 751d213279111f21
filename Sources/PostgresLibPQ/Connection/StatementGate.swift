import Synchronization

/// Lets one statement at a time onto a connection, the others in arrival order.
///
/// A `PGconn` carries one statement at a time. The pool lends a connection to one task, but a caller that shares it
/// between two tasks by mistake must get queued statements, not a corrupted protocol stream; and a statement sent
/// with the non-blocking API is in flight across suspension points, where a lock cannot be held.
final class StatementGate: Sendable {
    private struct State {
        var isBusy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Waits for the gate (not cancellable: a statement waiting here is a few round trips from its turn).
    func enter() async {
        if self.tryEnter() { return }
        await withCheckedContinuation { continuation in
            let enteredNow = self.state.withLock { state in
                // Left between the first look and now: go in without queueing.
                if !state.isBusy {
                    state.isBusy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if enteredNow { continuation.resume() }
        }
    }

    /// Enters only when nobody is inside (for the blocking calls, which cannot wait for an asynchronous statement).
    func tryEnter() -> Bool {
        self.state.withLock { state in
            if state.isBusy { return false }
            state.isBusy = true
            return true
        }
    }

    /// Leaves the gate, handing it straight to the first waiter if there is one.
    func leave() {
        let next = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.isBusy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
