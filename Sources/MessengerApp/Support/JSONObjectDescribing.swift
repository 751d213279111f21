/// A model whose JSON object is described once, as the ordered list of its members, in
/// ``describeJSON(to:)``. Both of its encodings are walks of that one description: ``jsonText`` (by hand, on the
/// hot paths: every send and every delivered event) and `encode(to:)` via ``encodeDescribedJSON(to:)`` (for the
/// `Codable` containers that embed it). Adding a member is one line in the description.
protocol JSONObjectDescribing: Encodable {
    func describeJSON(to writer: inout some JSONFieldWriter)
}

extension JSONObjectDescribing {
    /// The JSON object, written by hand, members in the description's order; the same JSON value as `JSONEncoder`
    /// writes, strings escaped to the same bytes (see ``JSONText`` for the one escape that differs), which
    /// `JSONObjectWriterTests` checks. (`JSONEncoder` itself writes members in hash order on this platform.)
    var jsonText: String { String(decoding: self.jsonBytes, as: UTF8.self) }

    /// ``jsonText`` as UTF-8 bytes.
    var jsonBytes: [UInt8] {
        var text: [UInt8] = []
        // Enough for a typical message, so the text grows once at most.
        text.reserveCapacity(512)
        JSONObjectWriter.append(self, to: &text)
        return text
    }

    /// Encodes the described members into a keyed container, in order: the body of `encode(to:)`.
    func encodeDescribedJSON(to encoder: any Encoder) throws {
        var writer = JSONEncoderFieldWriter(container: encoder.container(keyedBy: JSONKey.self))
        self.describeJSON(to: &writer)
        if let error = writer.error { throw error }
    }
}
