import Synchronization

/// Gathers sends that would wait for the database into one statement.
///
/// A send statement's fixed cost inside PostgreSQL (starting the executor for four tables and their indexes, the
/// plan's locks, the commit and its flush, the protocol round trip) is most of its cost: `perf` with 32 senders put
/// ~45% of the database's samples there. So at most ``limit`` statements run at once; a send that finds a free slot
/// goes at once, alone (batching never delays a send), and the sends that arrive while every slot is busy queue and
/// go together when one frees, up to ``maximumBatch`` in one statement. The task whose statement finishes hands the
/// queue to the first queued send, whose own task then runs it: no task is spawned and nobody waits for a stranger's
/// answer to be delivered.
///
/// A statement in a slot is *bounded*: ``execute`` is asked to give up waiting for row locks soon (the repository sets
/// a lock timeout), so a conversation locked by someone else's open transaction cannot hold the slots, and with them
/// every other send, for as long as that transaction stays open. If a statement in a slot fails with an error after
/// which it is safe to run again (``retryAlone``: the database rejected it, so nothing was stored), each of its sends
/// runs again alone, unbounded and outside the slots: a send to a locked conversation then waits for the lock by
/// itself, and one send's error never becomes another's.
final class SendBatcher<Send: Sendable, Outcome: Sendable>: Sendable {
    /// What a queued send is told when its turn comes.
    private enum Turn: Sendable {
        /// Its batch ran: here is its outcome.
        case done(Outcome)
        /// It leads the next batch: itself first, then these.
        case lead([Waiter])
        /// Its batch failed and nothing was stored: run alone.
        case alone
        /// Its batch failed in a way that may have stored it: the error, as the leader got it.
        case failed(any Error)
    }

    private struct Waiter: Sendable {
        let send: Send
        let continuation: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var running = 0
        var queue: [Waiter] = []
        /// Statements run, and how many of them carried more than one send (for tests).
        var statements = 0
        var batched = 0
    }

    /// Statements that may run at once.
    let limit: Int
    /// Sends in one statement at most.
    let maximumBatch: Int
    /// Whether the sends of a failed statement may run again (the error says nothing was stored).
    let retryAlone: @Sendable (any Error) -> Bool
    private let state = Mutex(State())

    init(limit: Int, maximumBatch: Int, retryAlone: @escaping @Sendable (any Error) -> Bool) {
        precondition(limit >= 1 && maximumBatch >= 1)
        self.limit = limit
        self.maximumBatch = maximumBatch
        self.retryAlone = retryAlone
    }

    /// Runs one statement: the sends, and whether it runs in a slot (bounded).
    typealias Execute = @Sendable (_ sends: [Send], _ bounded: Bool) async throws -> [Outcome]

    /// Statements running now.
    var running: Int { self.state.withLock { $0.running } }

    /// Sends waiting for a slot now.
    var queued: Int { self.state.withLock { $0.queue.count } }

    /// Statements run so far, and how many of them carried more than one send.
    var counts: (statements: Int, batched: Int) { self.state.withLock { ($0.statements, $0.batched) } }

    /// Runs `send` through `execute`, alone or with others. `execute` gets one send or several and returns an outcome
    /// for each, in order.
    func submit(_ send: Send, execute: Execute) async throws -> Outcome {
        let goNow = self.state.withLock { state -> Bool in
            guard state.running < self.limit else { return false }
            state.running += 1
            return true
        }
        if goNow { return try await self.lead(send, with: [], execute: execute) }
        let turn = await withCheckedContinuation { continuation in
            // A slot may have freed between the check above and now: the queue is handed on by whoever frees it, and
            // this lock is the only place a slot is taken or freed, so re-check here.
            let goNow = self.state.withLock { state -> Bool in
                guard state.running < self.limit else {
                    state.queue.append(Waiter(send: send, continuation: continuation))
                    return false
                }
                state.running += 1
                return true
            }
            if goNow { continuation.resume(returning: .lead([])) }
        }
        switch turn {
        case .done(let outcome): return outcome
        case .lead(let others): return try await self.lead(send, with: others, execute: execute)
        case .alone: return try await self.alone(send, execute: execute)
        case .failed(let error): throw error
        }
    }

    /// Runs a batch led by `send` in one of the slots, hands the queue on, then tells the others their outcomes.
    private func lead(_ send: Send, with others: [Waiter], execute: Execute) async throws -> Outcome {
        let result: Result<[Outcome], any Error>
        do {
            result = .success(try await execute([send] + others.map(\.send), true))
        } catch {
            result = .failure(error)
        }
        self.handOn(carried: 1 + others.count)
        switch result {
        case .success(let outcomes):
            for (waiter, outcome) in zip(others, outcomes.dropFirst()) { waiter.continuation.resume(returning: .done(outcome)) }
            return outcomes[0]
        case .failure(let error):
            guard self.retryAlone(error) else {
                for waiter in others { waiter.continuation.resume(returning: .failed(error)) }
                throw error
            }
            for waiter in others { waiter.continuation.resume(returning: .alone) }
            return try await self.alone(send, execute: execute)
        }
    }

    /// A send of a failed statement, run again by itself: outside the slots (it already had its turn) and unbounded.
    private func alone(_ send: Send, execute: Execute) async throws -> Outcome {
        try await execute([send], false)[0]
    }

    /// Frees this slot, or gives it to the first queued send together with the next ones.
    private func handOn(carried: Int) {
        let next = self.state.withLock { state -> (Waiter, [Waiter])? in
            state.statements += 1
            if carried > 1 { state.batched += 1 }
            guard !state.queue.isEmpty else {
                state.running -= 1
                return nil
            }
            let taken = min(state.queue.count, self.maximumBatch)
            let batch = Array(state.queue.prefix(taken))
            state.queue.removeFirst(taken)
            return (batch[0], Array(batch.dropFirst()))
        }
        if let (leader, others) = next { leader.continuation.resume(returning: .lead(others)) }
    }
}
