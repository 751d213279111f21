import NIOCore

/// Server-Sent Events wire format.
enum SSEFrame {
    /// An event; `id` is the signed position (see ``StreamPositionCodec``), nil for events that are not replayed.
    static func event(id: String?, name: String?, data: String) -> ByteBuffer {
        var text = ""
        if let id { text += "id: \(id)\n" }
        if let name { text += "event: \(name)\n" }
        // Our JSON never contains raw newlines; should data ever have one, each line gets its own field so the frame
        // cannot break.
        if data.utf8.contains(10) {
            for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
                text += "data: \(line)\n"
            }
        } else {
            text += "data: " + data + "\n"
        }
        text += "\n"
        return ByteBuffer(string: text)
    }

    /// Sets the client's resume point without firing an event (a block with only an id).
    static func position(_ id: String) -> ByteBuffer {
        ByteBuffer(string: "id: \(id)\n\n")
    }

    static func opening(retryMilliseconds: Int) -> ByteBuffer {
        ByteBuffer(string: ": connected\nretry: \(retryMilliseconds)\n\n")
    }

    static let ping = ByteBuffer(string: ": ping\n\n")

    /// The client's position is unknown: it must reload through the REST API, then continue from `id`.
    static func reset(at id: String) -> ByteBuffer {
        self.event(id: id, name: "reset", data: "{}")
    }

    /// The server ends this stream on purpose and the client should not reconnect (`reason`: a code constant).
    static func closed(reason: String) -> ByteBuffer {
        self.event(id: nil, name: "closed", data: "{\"reason\":\"\(reason)\"}")
    }
}
