import Foundation
import Logging
import NIOCore
import PostgresLibPQ
import Synchronization

/// Typing indicators: never stored, never replayed, sent to the other participants of a conversation on every
/// instance (`NOTIFY` to the others, directly here).
///
/// Each user and conversation gets at most one `typing: true` through per refresh interval; the rest are accepted
/// and dropped, so a 1,000-member group costs O(members) per change, not per keystroke. The event says how long it
/// lasts (`expiresInMs`); clients drop it then unless refreshed, and on a message from the same user.
public final class TypingRelay: Sendable {
    public static let channel = "messenger_typing"

    let stream: any StreamRepository
    let notifier: PostgresNotifier?
    let registry: SubscriberRegistry
    let instanceID: String
    let timeout: Duration
    let refresh: Duration
    let logger: Logger
    private let lastSent = Mutex<[Key: ContinuousClock.Instant]>([:])
    /// Relayed changes from other instances wait here for the worker, off the listener's path.
    private let inbox: AsyncStream<String>
    private let inboxContinuation: AsyncStream<String>.Continuation

    struct Key: Hashable {
        var userID: Int64
        var conversationID: Int64
    }

    init(
        stream: any StreamRepository,
        notifier: PostgresNotifier?,
        registry: SubscriberRegistry,
        instanceID: String,
        configuration: AppConfiguration,
        logger: Logger
    ) {
        self.stream = stream
        self.notifier = notifier
        self.registry = registry
        self.instanceID = instanceID
        self.timeout = configuration.typingTimeout
        self.refresh = configuration.typingRefresh
        self.logger = logger
        // Typing is ephemeral: under a flood the newest matter, the oldest may go.
        (self.inbox, self.inboxContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// A participant is (or stopped) typing. The caller checked that they take part.
    func typing(userID: Int64, username: String, conversationID: Int64, isTyping: Bool) async {
        let now = ContinuousClock.now
        let accepted = self.lastSent.withLock { last -> Bool in
            if last.count > 100_000 { last = last.filter { now - $0.value < self.refresh } }
            let key = Key(userID: userID, conversationID: conversationID)
            guard isTyping else {
                // A stop always goes through (and the next start is not held back).
                last[key] = nil
                return true
            }
            if let previous = last[key], now - previous < self.refresh { return false }
            last[key] = now
            return true
        }
        guard accepted else { return }
        await self.deliver(conversationID: conversationID, userID: userID, username: username, isTyping: isTyping)
        do {
            let payload = "\(self.instanceID):\(conversationID):\(userID):\(isTyping ? 1 : 0):\(username)"
            try await self.notifier?.notify(channel: Self.channel, payload: payload)
        } catch {
            self.logger.warning("could not announce typing", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Another instance relayed typing (its own `NOTIFY`s come back to it and are skipped). Never waits.
    func received(_ payload: String) {
        self.inboxContinuation.yield(payload)
    }

    /// Delivers relayed typing changes.
    func worker() async {
        for await payload in self.inbox { await self.deliver(payload: payload) }
    }

    func finish() { self.inboxContinuation.finish() }

    private func deliver(payload: String) async {
        let parts = payload.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] != self.instanceID, let conversationID = Int64(parts[1]), let userID = Int64(parts[2]) else {
            return
        }
        await self.deliver(conversationID: conversationID, userID: userID, username: String(parts[4]), isTyping: parts[3] == "1")
    }

    private func deliver(conversationID: Int64, userID: Int64, username: String, isTyping: Bool) async {
        do {
            let participants = try await self.stream.participants(conversationID: conversationID)
            let data =
                "{\"conversationId\":\"\(conversationID)\",\"userId\":\"\(userID)\",\"username\":\(JSONText.quote(username)),"
                + "\"typing\":\(isTyping),\"expiresInMs\":\(isTyping ? Int(self.timeout.components.seconds * 1000) : 0)}"
            // Not to the typist's own streams: their other tabs know.
            self.registry.send(SSEFrame.event(id: nil, name: "typing", data: data), toUsers: participants, excluding: userID)
        } catch {
            self.logger.warning("could not deliver typing", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
