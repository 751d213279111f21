import Foundation
import PostgresLibPQ

/// ``StreamRepository`` on PostgreSQL: positions are `(xid8 of the writing transaction, event id)`, and only rows
/// whose transaction is older than the current snapshot's xmin are read, so a late commit can never fall behind
/// a cursor (see schema/0004_stream.sql).
public struct PostgresStreamRepository: StreamRepository {
    let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    public func currentPosition() async throws -> StreamPosition {
        let rows = try await self.pool.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
        let text = try rows.first!.decode(String.self, at: 0)
        // (xmin, 0): every event of a transaction older than xmin is behind us, none of xmin's or later.
        return StreamPosition(tx: UInt64(text) ?? 0, id: 0, time: Int64(Date().timeIntervalSince1970))
    }

    public func events(after position: StreamPosition, limit: Int) async throws -> (events: [StreamEvent], pending: Bool) {
        let tx = String(position.tx)
        // One round trip: the complete events after the position, and whether more wait behind a transaction that
        // is still running (always one row, with NULL event columns when there are no events).
        let rows = try await self.pool.query(
            """
            WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
            ev AS (
                SELECT * FROM (
                    SELECT m.tx, m.id, m.conversation_id, 'message' AS kind, m.user_id, m.id AS message_id, m.content,
                           m.created_at, m.client_id, u.username, u.avatar_url
                    FROM messages m JOIN users u ON u.id = m.user_id, h
                    WHERE (m.tx, m.id) > (\(tx)::xid8, \(position.id)::bigint) AND m.tx < h.xmin
                    UNION ALL
                    SELECT e.tx, e.id, e.conversation_id, e.kind, e.user_id, e.message_id, NULL, e.created_at, NULL,
                           u.username, u.avatar_url
                    FROM stream_events e JOIN users u ON u.id = e.user_id, h
                    WHERE (e.tx, e.id) > (\(tx)::xid8, \(position.id)::bigint) AND e.tx < h.xmin
                ) y
                ORDER BY y.tx, y.id
                LIMIT \(limit)
            ),
            p AS (
                SELECT EXISTS (SELECT 1 FROM messages, h WHERE tx >= h.xmin AND (tx, id) > (\(tx)::xid8, \(position.id)::bigint))
                    OR EXISTS (SELECT 1 FROM stream_events, h WHERE tx >= h.xmin AND (tx, id) > (\(tx)::xid8, \(position.id)::bigint))
                    AS pending
            )
            SELECT \(unsafeRaw: StreamEventRow.columns), p.pending
            FROM p LEFT JOIN ev x ON true
            ORDER BY x.tx, x.id
            """
        )
        guard let first = rows.first else { return ([], false) }
        let pending = try first.decode(Bool.self, at: 11)
        if try first.decode(Int64?.self, at: 1) == nil { return ([], pending) }
        let events = try rows.map(StreamEventRow.event)
        return (events, pending || rows.count == limit)
    }

    /// Whether another process listens for stream notifications (another server instance on this database).
    public func otherListeners(excluding pid: Int32) async throws -> Bool {
        let rows = try await self.pool.query(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = \(RealtimeService.listenerApplicationName) AND pid <> \(pid))"
        )
        return try rows.first!.decode(Bool.self, at: 0)
    }

    public func events(forUser userID: Int64, after position: StreamPosition, limit: Int) async throws -> [StreamEvent] {
        let tx = String(position.tx)
        let rows = try await self.pool.query(
            """
            WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
            SELECT \(unsafeRaw: StreamEventRow.columns)
            FROM (
                SELECT m.tx, m.id, m.conversation_id, 'message' AS kind, m.user_id, m.id AS message_id, m.content,
                       m.created_at, m.client_id, u.username, u.avatar_url
                FROM messages m
                JOIN participants p ON p.conversation_id = m.conversation_id AND p.user_id = \(userID)
                JOIN users u ON u.id = m.user_id, h
                WHERE (m.tx, m.id) > (\(tx)::xid8, \(position.id)::bigint) AND m.tx < h.xmin
                UNION ALL
                SELECT e.tx, e.id, e.conversation_id, e.kind, e.user_id, e.message_id, NULL, e.created_at, NULL,
                       u.username, u.avatar_url
                FROM stream_events e JOIN users u ON u.id = e.user_id, h
                WHERE (e.tx, e.id) > (\(tx)::xid8, \(position.id)::bigint) AND e.tx < h.xmin
                  AND (e.user_id = \(userID)
                       OR EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = e.conversation_id AND p.user_id = \(userID)))
            ) x
            ORDER BY x.tx, x.id
            LIMIT \(limit)
            """
        )
        return try rows.map(StreamEventRow.event)
    }

    public func participants(conversationID: Int64) async throws -> [Int64] {
        let rows = try await self.pool.query("SELECT user_id FROM participants WHERE conversation_id = \(conversationID)")
        return try rows.map { try $0.decode(Int64.self, at: 0) }
    }
}
