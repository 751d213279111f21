import Synchronization

/// Gathers sends that would wait for the database into one statement.
///
/// A send statement's fixed cost inside PostgreSQL (starting the executor for four tables and their indexes, the
/// plan's locks, the commit and its flush, the protocol round trip) is most of its cost: `perf` with 32 senders put
/// ~45% of the database's samples there. So at most ``limit`` statements run at once; a send that finds a free slot
/// goes at once, alone (batching never delays a send), and the sends that arrive while every slot is busy queue and
/// go together when one frees, up to ``maximumBatch`` in one statement. The task whose statement finishes hands each
/// batch it can start to the batch's first send, whose own task then runs it: no task is spawned and nobody waits for
/// a stranger's answer to be delivered.
///
/// Statements in slots never share a conversation (``key``): a send to a conversation that a running statement holds
/// waits in the queue, even with a slot free, and goes with the first batch after that statement. In PostgreSQL it
/// would only wait for the row lock that statement holds — holding a slot, and then committing a batch of its own
/// where it could have joined the next one. With 32 senders in 8 shared groups, four slots left to wait on each other's
/// locks cost the database 0.29–0.33 ms per message; kept apart, 0.17–0.18 ms and 41–57% more messages (README).
///
/// A statement in a slot is *bounded*: ``execute`` is asked to give up waiting for row locks soon (the repository sets
/// a lock timeout), so a conversation locked by someone else's open transaction cannot hold the slots, and with them
/// every other send, for as long as that transaction stays open. If a statement in a slot fails with an error after
/// which it is safe to run again (``retryAlone``: the database rejected it, so nothing was stored), each of its sends
/// runs again alone, unbounded and outside the slots, keeping its key until it ends: a send to a locked conversation
/// then waits for the lock by itself, the sends to that conversation after it wait in the queue (not in a slot, for
/// another lock timeout each), and one send's error never becomes another's.
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
        /// The keys of the sends in running statements, each with how many of them.
        var held: [Int64: Int] = [:]
        /// Statements run, and how many of them carried more than one send (for tests).
        var statements = 0
        var batched = 0
    }

    /// Statements that may run at once.
    let limit: Int
    /// Sends in one statement at most.
    let maximumBatch: Int
    /// What two statements in slots must not share (the conversation: its row is locked until the statement commits).
    let key: @Sendable (Send) -> Int64
    /// Whether the sends of a failed statement may run again (the error says nothing was stored).
    let retryAlone: @Sendable (any Error) -> Bool
    private let state = Mutex(State())

    init(
        limit: Int, maximumBatch: Int, key: @escaping @Sendable (Send) -> Int64,
        retryAlone: @escaping @Sendable (any Error) -> Bool
    ) {
        precondition(limit >= 1 && maximumBatch >= 1)
        self.limit = limit
        self.maximumBatch = maximumBatch
        self.key = key
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
        let key = self.key(send)
        if self.state.withLock({ self.takeSlot(for: key, &$0) }) { return try await self.lead(send, with: [], execute: execute) }
        let turn = await withCheckedContinuation { continuation in
            // A slot (or the key) may have freed between the check above and now: the queue is handed on by whoever
            // frees it, and this lock is the only place either is taken or freed, so re-check here.
            let goNow = self.state.withLock { state -> Bool in
                guard self.takeSlot(for: key, &state) else {
                    state.queue.append(Waiter(send: send, continuation: continuation))
                    return false
                }
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

    /// Takes a slot for a send alone when one is free and no running statement holds its key.
    private func takeSlot(for key: Int64, _ state: inout State) -> Bool {
        guard state.running < self.limit, state.held[key] == nil else { return false }
        state.running += 1
        state.held[key] = 1
        return true
    }

    /// Runs a batch led by `send` in one of the slots, hands the queue on, then tells the others their outcomes.
    private func lead(_ send: Send, with others: [Waiter], execute: Execute) async throws -> Outcome {
        let sends = [send] + others.map(\.send)
        let result: Result<[Outcome], any Error>
        do {
            result = .success(try await execute(sends, true))
        } catch {
            result = .failure(error)
        }
        // Sends that run again alone keep their keys until they have: a send to a conversation that someone's open
        // transaction locks then waits outside the slots, and so do the sends to it that follow (in the queue).
        let runAgain: Bool
        if case .failure(let error) = result { runAgain = self.retryAlone(error) } else { runAgain = false }
        self.handOn(finished: sends, keepingKeys: runAgain)
        switch result {
        case .success(let outcomes):
            for (waiter, outcome) in zip(others, outcomes.dropFirst()) { waiter.continuation.resume(returning: .done(outcome)) }
            return outcomes[0]
        case .failure(let error):
            guard runAgain else {
                for waiter in others { waiter.continuation.resume(returning: .failed(error)) }
                throw error
            }
            for waiter in others { waiter.continuation.resume(returning: .alone) }
            return try await self.alone(send, execute: execute)
        }
    }

    /// A send of a failed statement, run again by itself: outside the slots (it already had its turn) and unbounded.
    /// Its key stays held until it ends.
    private func alone(_ send: Send, execute: Execute) async throws -> Outcome {
        defer { self.release([send]) }
        return try await execute([send], false)[0]
    }

    /// Frees the keys of sends that ran outside the slots, then starts what the queue now allows.
    private func release(_ sends: [Send]) {
        self.free { self.release(sends, &$0) }
    }

    /// Applies `change` (what a finished statement or send gives back), then starts the batches the queue now allows;
    /// each goes to its first send, whose task runs it.
    private func free(_ change: (inout State) -> Void) {
        let batches = self.state.withLock { state -> [[Waiter]] in
            change(&state)
            return self.startBatches(&state)
        }
        for batch in batches { batch[0].continuation.resume(returning: .lead(Array(batch.dropFirst()))) }
    }

    private func release(_ sends: [Send], _ state: inout State) {
        for send in sends {
            let key = self.key(send)
            if let count = state.held[key], count > 1 { state.held[key] = count - 1 } else { state.held[key] = nil }
        }
    }

    /// Frees this slot and (unless its sends run again alone) the finished statement's keys, then starts what the queue
    /// now allows (the first batch in this slot).
    private func handOn(finished: [Send], keepingKeys: Bool) {
        self.free { state in
            state.statements += 1
            if finished.count > 1 { state.batched += 1 }
            state.running -= 1
            if !keepingKeys { self.release(finished, &state) }
        }
    }

    /// Takes the batches the queue allows now: the queued sends whose keys nobody holds, in arrival order, up to
    /// ``maximumBatch`` per statement, while slots are free.
    private func startBatches(_ state: inout State) -> [[Waiter]] {
        var batches: [[Waiter]] = []
        while state.running < self.limit && !state.queue.isEmpty {
            var batch: [Waiter] = []
            var rest: [Waiter] = []
            rest.reserveCapacity(state.queue.count)
            for waiter in state.queue {
                if batch.count < self.maximumBatch && state.held[self.key(waiter.send)] == nil {
                    batch.append(waiter)
                } else {
                    rest.append(waiter)
                }
            }
            guard !batch.isEmpty else { break }
            state.queue = rest
            state.running += 1
            for waiter in batch { state.held[self.key(waiter.send), default: 0] += 1 }
            batches.append(batch)
        }
        return batches
    }
}
