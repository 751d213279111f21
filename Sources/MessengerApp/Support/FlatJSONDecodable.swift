/// A request body that can also be built from a ``FlatJSONObject``, skipping `JSONDecoder` for the common case.
protocol FlatJSONDecodable: Decodable {
    /// The value for `members`, or nil to leave the body to `JSONDecoder` (a key given twice, say), which then decides
    /// exactly as it does for any body.
    init?(flatJSON members: [FlatJSONObject.Member])
}
