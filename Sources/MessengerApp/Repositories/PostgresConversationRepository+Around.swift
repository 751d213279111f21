import Foundation
import PostgresLibPQ

extension PostgresConversationRepository {
    public func messages(userID: Int64, conversationID: Int64, around messageID: Int64, older: Int, newer: Int) async throws
        -> MessageWindow?
    {
        // One statement: membership and the anchor checked by the join, then both sides along the
        // (conversation_id, id) index, one row more on each side to know whether there is more.
        let rows = try await self.pool.query(
            """
            WITH anchor AS (
                SELECT a.id, a.conversation_id FROM participants p
                JOIN messages a ON a.conversation_id = p.conversation_id AND a.id = \(messageID)
                WHERE p.user_id = \(userID) AND p.conversation_id = \(conversationID)
            ), side AS (
                (SELECT m.id FROM anchor JOIN messages m ON m.conversation_id = anchor.conversation_id AND m.id < anchor.id
                 ORDER BY m.id DESC LIMIT \(older + 1))
                UNION ALL
                (SELECT m.id FROM anchor JOIN messages m ON m.conversation_id = anchor.conversation_id AND m.id >= anchor.id
                 ORDER BY m.id ASC LIMIT \(newer + 2))
            )
            SELECT \(unsafeRaw: Self.messageColumns) FROM side JOIN messages m ON m.id = side.id JOIN users u ON u.id = m.user_id
            ORDER BY m.id
            """
        )
        var messages = try rows.map { try Self.message($0, me: userID) }
        guard let anchorIndex = messages.firstIndex(where: { $0.id == String(messageID) }) else { return nil }
        let hasOlder = anchorIndex > older
        if hasOlder { messages.removeFirst(anchorIndex - older) }
        let anchorAt = hasOlder ? older : anchorIndex
        let hasNewer = messages.count - anchorAt - 1 > newer
        if hasNewer { messages.removeLast(messages.count - anchorAt - 1 - newer) }
        return MessageWindow(
            messages: messages,
            before: hasOlder ? messages.first?.id : nil,
            after: hasNewer ? messages.last?.id : nil
        )
    }
}
