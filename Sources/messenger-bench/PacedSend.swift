import Foundation
import NIOCore

// MARK: - Paced open-loop sending (delivery and resume)

struct PacedResult: Sendable {
    var postLatencies: [UInt64] = []
    var succeeded: [Bool] = []
    var failures = 0
    var firstError: String?
    var maxLagNs: UInt64 = 0
    var elapsedNs: UInt64 = 0
}

/// Sends `total` messages at `rate`/s without waiting for answers (open loop: a slow server does not slow the
/// schedule). `sendAt(seq)` is called just before each POST; message `seq` goes to conversation `seq % pairs`.
func pacedSend(
    _ b: Bench, total: Int, rate: Double, senders: [BenchUser], conversations: [String], tag: String,
    sendAt: @escaping @Sendable (Int, UInt64) -> Void
) async -> PacedResult {
    let interval = 1e9 / rate
    if let keepAlive = b.api.keepAlive {
        return await pacedSendFromEventLoops(
            keepAlive, total: total, interval: interval, senders: senders, conversations: conversations,
            content: { b.content(tag, $0) }, sendAt: sendAt)
    }
    let start = nowNs() + 20_000_000
    var result = PacedResult()
    result.succeeded = Array(repeating: false, count: total)
    let outcomes = await withTaskGroup(of: (Int, SendOutcome).self) { group in
        var maxLag: UInt64 = 0
        for seq in 0..<total {
            let due = start + UInt64(Double(seq) * interval)
            try? await sleep(untilNs: due)
            let now = nowNs()
            if now > due { maxLag = max(maxLag, now - due) }
            let pair = seq % senders.count
            group.addTask {
                sendAt(seq, nowNs())
                let outcome = await b.api.timedSend(
                    senders[pair], conversation: conversations[pair], content: b.content(tag, seq))
                return (seq, outcome)
            }
        }
        var all: [(Int, SendOutcome)] = []
        for await outcome in group { all.append(outcome) }
        return (all, maxLag)
    }
    result.maxLagNs = outcomes.1
    result.elapsedNs = nowNs() - start
    for (seq, outcome) in outcomes.0 {
        switch outcome {
        case .ok(let ns, _):
            result.postLatencies.append(ns)
            result.succeeded[seq] = true
        case .failed(let why):
            result.failures += 1
            if result.firstError == nil { result.firstError = why }
        }
    }
    return result
}

/// ``pacedSend(_:total:rate:senders:conversations:tag:sendAt:)`` over ``KeepAliveHTTP``: timers on the event loops
/// write the requests, one keep-alive connection per sender, and `sendAt` is the instant of the write.
private func pacedSendFromEventLoops(
    _ keepAlive: KeepAliveHTTP, total: Int, interval: Double, senders: [BenchUser], conversations: [String],
    content: @escaping @Sendable (Int) -> String, sendAt: @escaping @Sendable (Int, UInt64) -> Void
) async -> PacedResult {
    var result = PacedResult()
    result.succeeded = Array(repeating: false, count: total)
    let run: PacedRun
    do {
        run = try await keepAlive.paced(
            count: total, startAfterNs: 20_000_000, intervalNs: interval, lanes: senders.count, .POST
        ) { seq in
            let pair = seq % senders.count
            return ("/api/conversations/\(conversations[pair])/messages", senders[pair].token, #"{"content":"\#(content(seq))"}"#)
        } sent: { seq, at in
            sendAt(seq, at)
        }
    } catch {
        result.failures = total
        result.firstError = "could not open the senders' connections: \(error)"
        return result
    }
    result.elapsedNs = nowNs() - run.startNs
    result.maxLagNs = run.maxLagNs
    for (seq, outcome) in run.outcomes.enumerated() {
        switch outcome {
        case .answered(let ns, _, let answer) where answer.status == 201 || answer.status == 200:
            result.postLatencies.append(ns)
            result.succeeded[seq] = true
        case .answered(_, _, let answer):
            result.failures += 1
            if result.firstError == nil { result.firstError = "POST message -> \(answer.status): \(answer.text.prefix(200))" }
        case .failed(let why, _):
            result.failures += 1
            if result.firstError == nil { result.firstError = "POST message: \(why)" }
        case nil:
            result.failures += 1
        }
    }
    return result
}
