/// Username rules: 1–32 characters of ASCII letters, digits, `_`, `.` and `-`; stored as given, compared
/// case-insensitively.
public enum Username {
    public static let rule = "must be 1-32 characters of letters, digits, '_', '.' or '-'"

    public static func isValid(_ name: String) -> Bool {
        let bytes = name.utf8
        guard (1...32).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 95 || byte == 46 || byte == 45
        }
    }
}
