/// Ids travel as JSON strings (`"id": "42"`) and must be positive integers written as the server writes them (no
/// sign, no leading zero): anything else is "not found", never a server error.
public enum ID {
    public static func parse(_ text: String?) -> Int64? {
        guard let text, !text.isEmpty, text.count <= 19, text.first != "0", text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let value = Int64(text), value > 0
        else { return nil }
        return value
    }
}
