import Foundation
import PostgresLibPQ

/// ``StreamRepository`` on PostgreSQL: positions are `(xid8 of the writing transaction, event id)`, and only rows
/// below the horizon of *our own* running transactions are read, so a late commit can never fall behind a cursor
/// and nothing outside the application can hold delivery back (see schema/0005_stream_horizon.sql).
public struct PostgresStreamRepository: StreamRepository {
    /// The `application_name` of the connections that write events: the horizon looks only at these.
    public static let writerApplicationName = "messenger"
    /// The `application_name` of the realtime listener's connection (the one that LISTENs); declared here, not in
    /// the realtime layer, so the repository does not depend on the service that uses it.
    public static let listenerApplicationName = "messenger-listener"

    let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    public func currentPosition() async throws -> StreamPosition {
        let rows = try await self.pool.query("SELECT stream_horizon()::text")
        let text = try rows.first!.decode(String.self, at: 0)
        // (horizon, 0): every event of a transaction below it is behind us, none of its own or later ones.
        return StreamPosition(tx: UInt64(text) ?? 0, id: 0, time: Int64(Date().timeIntervalSince1970))
    }

    public func events(after position: StreamPosition, limit: Int) async throws -> StreamBatch {
        // One round trip: the function computes the horizon, then reads in a later snapshot, and ends with a trailer
        // row carrying the horizon and whether rows of ours wait behind it.
        let rows = try await self.pool.query(
            """
            SELECT \(unsafeRaw: StreamEventRow.columns), x.horizon::text, x.pending
            FROM stream_after(\(String(position.tx))::xid8, \(position.id), \(limit)) x
            """
        )
        var batch = StreamBatch()
        StreamEventRow.append(rows.dropLast(), to: &batch)
        if let trailer = rows.last {
            let (horizon, pending) = try trailer.decode((String, Bool).self, from: StreamEventRow.trailerIndex)
            batch.horizon = UInt64(horizon) ?? 0
            batch.pending = pending
        }
        return batch
    }

    public func events(forUser userID: Int64, after position: StreamPosition, limit: Int) async throws -> StreamBatch {
        // Two statements on purpose: the rows must be read in a snapshot taken after the horizon was computed.
        let horizon = try await self.currentPosition().tx
        let tx = String(position.tx)
        let rows = try await self.pool.query(
            """
            SELECT \(unsafeRaw: StreamEventRow.columns)
            FROM (
                SELECT s.*, u.username, u.avatar_url FROM stream_rows s JOIN users u ON u.id = s.user_id
                WHERE (s.tx, s.id) > (\(tx)::xid8, \(position.id)) AND s.tx < \(String(horizon))::xid8
                  AND (EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = s.conversation_id AND p.user_id = \(userID))
                       OR (s.kind <> 'message' AND s.user_id = \(userID)))
            ) x
            ORDER BY x.tx, x.id
            LIMIT \(limit)
            """
        )
        var batch = StreamBatch()
        batch.horizon = horizon
        StreamEventRow.append(rows, to: &batch)
        return batch
    }

    public func eventsWritten(after position: StreamPosition) async throws -> Int64? {
        let rows = try await self.pool.query(
            """
            SELECT CASE WHEN \(String(position.tx))::xid8 > pg_snapshot_xmax(pg_current_snapshot()) OR \(position.id) > last_value
                        THEN NULL ELSE last_value - \(position.id) END
            FROM stream_event_id_seq
            """
        )
        return try rows.first!.decode(Int64?.self, at: 0)
    }

    public func describeHolder(ofHorizon tx: UInt64) async throws -> String? {
        let rows = try await self.pool.query(
            """
            SELECT pid, state, extract(epoch FROM now() - xact_start)::float8
            FROM pg_stat_activity
            WHERE backend_xid::text::bigint = \(Int64(tx & 0xFFFF_FFFF)) AND application_name = \(Self.writerApplicationName)
            """
        )
        guard let row = rows.first else { return nil }
        let (pid, state, age) = try row.decode((Int32, String?, Double?).self)
        return "pid \(pid), \(state ?? "?"), transaction open \(String(format: "%.1f", age ?? 0)) s"
    }

    /// Whether another process listens for stream notifications (another server instance on this database).
    public func otherListeners(excluding pid: Int32) async throws -> Bool {
        let rows = try await self.pool.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_stat_activity
                WHERE application_name = \(Self.listenerApplicationName) AND pid <> \(pid) AND datname = current_database()
            )
            """
        )
        return try rows.first!.decode(Bool.self, at: 0)
    }

    public func participants(conversationID: Int64) async throws -> [Int64] {
        let rows = try await self.pool.query("SELECT user_id FROM participants WHERE conversation_id = \(conversationID)")
        return try rows.map { try $0.decode(Int64.self, at: 0) }
    }

    public func identityToken() async throws -> String {
        let rows = try await self.pool.query("SELECT token FROM stream_identity")
        return try rows.first!.decode(String.self, at: 0)
    }
}
