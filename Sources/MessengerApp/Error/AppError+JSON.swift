extension AppError: JSONObjectDescribing {
    /// `{"error":…,"errors":{…}?,<extra>…}`: the one description of the body, field errors and extra members in key
    /// order.
    func describeJSON(to writer: inout some JSONFieldWriter) {
        writer.string("error", self.message)
        if let fields = self.fieldErrors { writer.stringMap("errors", fields) }
        for (key, values) in (self.extra ?? [:]).sorted(by: { $0.key < $1.key }) { writer.stringArray(key, values) }
    }

    public func encode(to encoder: any Encoder) throws {
        try self.encodeDescribedJSON(to: encoder)
    }

    /// The JSON body (also the `data` of a WebSocket `error` frame, which appends members to it).
    var jsonBody: String { self.jsonText }
}
