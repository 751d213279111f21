import Foundation
import PostgresLibPQ

extension PostgresConversationRepository: MessageEditRepository {
    public func editMessage(userID: Int64, conversationID: Int64, messageID: Int64, content: String, window: Duration) async throws
        -> EditMessageResult
    {
        let windowSeconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        // One statement: the membership check, the row lock, the update and its stream event commit together. The
        // event row carries no text: delivery reads the message's current content (schema/0008).
        let rows = try await self.pool.query(
            """
            WITH target AS (
                SELECT m.id, m.user_id, m.deleted_at IS NOT NULL AS deleted,
                       m.created_at >= now() - \(windowSeconds)::float8 * interval '1 second' AS in_window
                FROM messages m
                JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = \(userID)
                WHERE m.id = \(messageID) AND m.conversation_id = \(conversationID)
                FOR UPDATE OF m
            ), upd AS (
                UPDATE messages m SET content = \(content), edited_at = clock_timestamp()
                FROM target t
                WHERE m.id = t.id AND t.user_id = \(userID) AND NOT t.deleted AND t.in_window
                RETURNING m.id
            ), ev AS (
                INSERT INTO stream_events (conversation_id, kind, user_id, message_id)
                SELECT \(conversationID), 'updated', \(userID), id FROM upd
            )
            SELECT t.user_id, t.deleted, t.in_window, (SELECT count(*) FROM upd)::bigint FROM target t
            """
        )
        guard let row = rows.first else { return .notFound }
        let (authorID, deleted, inWindow, updated) = try row.decode((Int64, Bool, Bool, Int64).self)
        if deleted { return .notFound }
        if authorID != userID { return .notAuthor }
        if !inWindow || updated == 0 { return .windowPassed }
        let message = try await self.pool.query(
            """
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages m JOIN users u ON u.id = m.user_id
            WHERE m.id = \(messageID)
            """
        )
        guard let messageRow = message.first else { return .notFound }
        return .edited(try Self.message(messageRow, me: userID))
    }

    public func deleteMessage(userID: Int64, conversationID: Int64, messageID: Int64) async throws -> DeleteMessageResult {
        // The row stays (ids, unread counts and read positions keep their meaning); its text is gone from the table.
        let rows = try await self.pool.query(
            """
            WITH target AS (
                SELECT m.id, m.user_id, m.deleted_at IS NOT NULL AS deleted
                FROM messages m
                JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = \(userID)
                WHERE m.id = \(messageID) AND m.conversation_id = \(conversationID)
                FOR UPDATE OF m
            ), upd AS (
                UPDATE messages m SET content = '', deleted_at = clock_timestamp()
                FROM target t
                WHERE m.id = t.id AND t.user_id = \(userID) AND NOT t.deleted
                RETURNING m.id
            ), ev AS (
                INSERT INTO stream_events (conversation_id, kind, user_id, message_id)
                SELECT \(conversationID), 'deleted', \(userID), id FROM upd
            )
            SELECT t.user_id, (SELECT count(*) FROM upd)::bigint FROM target t
            """
        )
        guard let row = rows.first else { return .notFound }
        let (authorID, changed) = try row.decode((Int64, Int64).self)
        if authorID != userID { return .notAuthor }
        return .deleted(changed: changed > 0)
    }
}
