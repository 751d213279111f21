/// The keyset position of a conversation in a user's list: its activity time (microseconds since 1970) and id.
/// Travels as the opaque string `"<micros>_<id>"`.
public struct ConversationCursor: Sendable, Equatable {
    public var activityMicros: Int64
    public var id: Int64

    public init(activityMicros: Int64, id: Int64) {
        self.activityMicros = activityMicros
        self.id = id
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "_")
        // Never negative: the server writes none, and far enough back PostgreSQL's timestamp range ends (found by
        // schemathesis: `-227338806621828628_52` was a 500).
        guard parts.count == 2, let micros = Int64(parts[0]), micros >= 0, let id = ID.parse(String(parts[1])) else { return nil }
        self.activityMicros = micros
        self.id = id
        // Only the form the server writes (no sign, no leading zeros): one cursor, one spelling.
        guard self.description == text else { return nil }
    }

    public var description: String { "\(self.activityMicros)_\(self.id)" }
}
