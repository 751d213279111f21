extension AppError {
    /// The JSON body: `{"error":…,"errors":{…},<extra>…}` with keys sorted (also the `data` of a WebSocket `error`
    /// frame). Written by hand because the WebSocket frame appends members to it and clients compare the text.
    var jsonBody: String {
        var body = "{\"error\":" + JSONText.quote(self.message)
        if let fields = self.fieldErrors {
            body += ",\"errors\":{"
            body += fields.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(separator: ",")
            body += "}"
        }
        if let extra = self.extra {
            for (key, values) in extra.sorted(by: { $0.key < $1.key }) {
                body += "," + JSONText.quote(key) + ":[" + values.map(JSONText.quote).joined(separator: ",") + "]"
            }
        }
        body += "}"
        return body
    }
}
