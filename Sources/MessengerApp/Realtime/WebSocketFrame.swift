import NIOCore

/// The WebSocket wire format of the stream: each SSE frame a ``Subscriber`` queues becomes one JSON text frame
/// `{"type": <SSE event name, "message" when unnamed>, "id": <the same signed position>, "data": <the same JSON>}`.
///
/// It is derived from the SSE bytes rather than from each event kind, so every event the stream carries, today's
/// and any added later, reaches WebSocket clients with no transport-specific code.
enum WebSocketFrame {
    /// The text frame for one SSE frame; nil for frames that carry nothing (comments such as the SSE heartbeat,
    /// which the WebSocket replaces with ping/pong).
    static func text(fromSSE frame: ByteBuffer) -> String? {
        var id: String?
        var name: String?
        var data: [Substring] = []
        let text = String(buffer: frame)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix(":") { continue }
            let (field, value) = Self.field(line)
            switch field {
            case "id": id = String(value)
            case "event": name = String(value)
            case "data": data.append(value)
            default: continue
            }
        }
        if data.isEmpty {
            // A block with only an id sets the client's position (the opening frame of a live stream).
            guard let id else { return nil }
            return "{\"type\":\"position\",\"id\":\(JSONText.quote(id))}"
        }
        var out = "{\"type\":" + JSONText.quote(name ?? "message")
        if let id { out += ",\"id\":" + JSONText.quote(id) }
        return out + ",\"data\":" + data.joined(separator: "\n") + "}"
    }

    /// Splits `field: value` (one optional space after the colon, as in the SSE specification).
    private static func field(_ line: Substring) -> (Substring, Substring) {
        guard let colon = line.firstIndex(of: ":") else { return (line, "") }
        var value = line[line.index(after: colon)...]
        if value.first == " " { value = value.dropFirst() }
        return (line[..<colon], value)
    }

    /// A reply to a client frame: `{"type": type, "data": json}`.
    static func reply(type: String, data: String) -> String {
        "{\"type\":" + JSONText.quote(type) + ",\"data\":" + data + "}"
    }
}
