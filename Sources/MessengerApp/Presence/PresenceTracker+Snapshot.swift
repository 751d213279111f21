import NIOCore

/// The `presence_snapshot` a new stream starts with, read for whole crowds of streams at once (``BatchedReads``).
///
/// Every stream that opens wants its contacts' presence, and a reconnect storm opens thousands of streams a second:
/// one statement per stream was most of the database work of connecting, a thread hand-off each, and (for a big
/// group's members all opening together) a queue in front of the pool that a message sent meanwhile waited behind.
///
/// Freshness: a caller asks once its stream is registered, and is answered by a read that began after that, so any
/// presence change the answer does not show happened after the registration and reaches the stream as a `presence`
/// event.
extension PresenceTracker {
    /// Calls `deliver` with the user's snapshot frame (nil when they have no contacts, or the read failed), from the
    /// task that reads. Returns at once, so an event loop may ask. Ask after the stream is registered.
    func request(snapshotFor userID: Int64, deliver: @escaping @Sendable (ByteBuffer?) -> Void) {
        self.snapshotReads.request(userID, on: self) { deliver((try? $0.get()) ?? nil) }
    }

    /// The user's snapshot frame, as ``request(snapshotFor:deliver:)``.
    func snapshot(for userID: Int64) async -> ByteBuffer? {
        (try? await self.snapshotReads.answer(for: userID, on: self)) ?? nil
    }

    /// One read for a batch (``BatchedReads``): a frame per user who has contacts. A failed read is logged and
    /// answers nobody (their streams start without a snapshot; `presence` events still follow).
    func readSnapshots(for userIDs: Set<Int64>) async -> [Int64: ByteBuffer] {
        let presence: [Int64: [Int64: PresenceState]]
        do {
            presence = try await self.repository.contactsPresence(of: Array(userIDs), deadAfter: self.deadAfter)
        } catch {
            self.logger.warning("could not read presence", metadata: ["error": "\(String(reflecting: error))"])
            return [:]
        }
        var shown: [Int64: PresenceState] = [:]
        var frames: [Int64: ByteBuffer] = [:]
        for (viewer, contacts) in presence {
            shown.merge(contacts) { current, _ in current }
            let users = contacts.sorted { $0.key < $1.key }.map { Self.json(userID: $0.key, $0.value) }
            frames[viewer] = SSEFrame.event(
                id: nil, name: "presence_snapshot", data: "{\"users\":[" + users.joined(separator: ",") + "]}")
        }
        self.noteShown(shown)
        return frames
    }
}
