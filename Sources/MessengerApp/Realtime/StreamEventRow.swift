import Foundation
import PostgresLibPQ

/// Decodes the rows of the stream queries (`stream_after`, `stream_rows`) into ``StreamRecord``s.
enum StreamEventRow {
    /// The columns every stream query selects, in this order.
    static let columns =
        "x.tx::text, x.id, x.conversation_id, x.kind, x.user_id, x.message_id, x.content, x.created_at, x.client_id, x.username, x.avatar_url, x.edited_at, x.deleted, x.message_created_at"

    /// Where `stream_after`'s trailer columns (horizon, pending) start when selected after ``columns``.
    static let trailerIndex = 14

    /// The row's position alone; nil on the trailer row of `stream_after`.
    static func position(_ row: PostgresRow) throws -> StreamPosition? {
        let (txText, id) = try row.decode((String?, Int64?).self)
        guard let txText, let id, let tx = UInt64(txText) else { return nil }
        return StreamPosition(tx: tx, id: id, time: 0)
    }

    /// The whole record. Throws for a row it cannot make sense of (an unknown kind, a missing user): the caller skips
    /// it rather than halting delivery for everyone.
    static func record(_ row: PostgresRow, at position: StreamPosition) throws -> StreamRecord {
        let (kindText, actorID, messageID, content, createdAt, clientID, username, avatar) = try row.decode(
            (String, Int64, Int64?, String?, Date, String?, String, String?).self,
            from: 3
        )
        let conversationID = try row.decode(Int64.self, at: 2)
        let (editedAt, deleted, messageCreatedAt) = try row.decode((Date?, Bool?, Date?).self, from: 11)
        guard let kind = StreamEvent.Kind(rawValue: kindText) else {
            throw PostgresError(kind: .decoding, serverMessage: "unknown stream event kind \(kindText)")
        }
        var position = position
        position.time = Int64(createdAt.timeIntervalSince1970)
        return StreamRecord(
            position: position,
            kind: kind,
            conversationID: conversationID,
            actorID: actorID,
            messageID: messageID,
            content: content,
            createdAt: createdAt,
            clientID: clientID,
            username: username,
            avatarURL: avatar,
            editedAt: editedAt,
            deleted: deleted ?? false,
            messageCreatedAt: messageCreatedAt
        )
    }

    /// Decodes rows in order into `batch`, skipping (and describing) the ones that cannot be decoded.
    static func append(_ rows: some Sequence<PostgresRow>, to batch: inout StreamBatch) {
        for row in rows {
            guard let position = try? Self.position(row) else { continue }
            batch.rowCount += 1
            batch.last = position
            do {
                batch.records.append(try Self.record(row, at: position))
            } catch {
                batch.skipped.append("\(position): \(error)")
            }
        }
    }
}
