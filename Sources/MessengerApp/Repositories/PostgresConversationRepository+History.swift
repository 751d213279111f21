import Foundation
import PostgresLibPQ

extension PostgresConversationRepository: MembershipHistoryRepository {
    public func membershipEvents(userID: Int64, conversationID: Int64, limit: Int) async throws -> [MembershipEvent]? {
        // Membership and the rows in one statement: a member only, newest rows first (index
        // stream_events_membership), returned oldest first.
        let rows = try await self.pool.query(
            """
            SELECT e.id, e.kind, e.created_at, u.id, u.username, u.avatar_url, a.id, a.username, a.avatar_url
            FROM participants p
            JOIN LATERAL (
                SELECT * FROM stream_events s
                WHERE s.conversation_id = p.conversation_id AND s.kind IN ('created', 'joined', 'left')
                ORDER BY s.id DESC LIMIT \(limit)
            ) e ON true
            JOIN users u ON u.id = e.user_id
            LEFT JOIN users a ON a.id = e.actor_id
            WHERE p.user_id = \(userID) AND p.conversation_id = \(conversationID)
            ORDER BY e.id
            """
        )
        if rows.isEmpty { return try await self.isParticipant(userID: userID, conversationID: conversationID) ? [] : nil }
        return try rows.map { row in
            let (id, kind, createdAt, uid, username, avatar, aid, aname, aavatar) = try row.decode(
                (Int64, String, Date, Int64, String, String?, Int64?, String?, String?).self
            )
            var actor: User?
            if let aid, let aname { actor = User(id: aid, username: aname, avatarURL: aavatar) }
            return MembershipEvent(
                id: String(id),
                type: kind,
                conversationId: String(conversationID),
                user: User(id: uid, username: username, avatarURL: avatar),
                actor: actor,
                createdAt: Timestamp.format(createdAt)
            )
        }
    }
}
