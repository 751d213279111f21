/// The durable outbox of push notifications (rows written by the send statement, see
/// `PostgresConversationRepository.sendStatement`).
public protocol PushOutboxRepository: Sendable {
    /// Takes up to `limit` due pushes for this worker (`FOR UPDATE SKIP LOCKED`: two workers never take the same
    /// row), leasing each for `lease`; drops the pointless ones first (the recipient read the conversation, came
    /// online, or left it).
    func claim(limit: Int, lease: Duration) async throws -> [PushNotification]
    /// Seconds until the next pending push is due (0 if one is due now); nil when none is pending.
    func secondsUntilNextDue() async throws -> Double?
    /// The receiver accepted the push.
    func markDelivered(id: Int64) async throws
    /// Never to be retried (a 4xx other than 429, or retried for too long).
    func markDead(id: Int64, error: String) async throws
    /// Back to pending, due after `delay` — or dead when it was first recorded more than `giveUpAfter` ago. A newer
    /// pending push for the same recipient and conversation absorbs this one's count instead.
    func retry(id: Int64, after delay: Duration, giveUpAfter: Duration, error: String) async throws
    /// Removes finished rows older than `age`.
    func removeFinished(olderThan age: Duration) async throws
}
