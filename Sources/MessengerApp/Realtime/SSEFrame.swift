import NIOCore

/// Server-Sent Events wire format.
enum SSEFrame {
    static func event(id: StreamPosition?, name: String?, data: String) -> ByteBuffer {
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
    static func position(_ id: StreamPosition) -> ByteBuffer {
        ByteBuffer(string: "id: \(id)\n\n")
    }

    static func opening(retryMilliseconds: Int) -> ByteBuffer {
        ByteBuffer(string: ": connected\nretry: \(retryMilliseconds)\n\n")
    }

    static let ping = ByteBuffer(string: ": ping\n\n")

    static func reset(at position: StreamPosition) -> ByteBuffer {
        self.event(id: position, name: "reset", data: "{}")
    }
}
