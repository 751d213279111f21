/// A key press decoded from the terminal's bytes.
enum Key: Equatable, Sendable {
    case character(Character)
    case enter
    case backspace
    case escape
    case up
    case down
    case pageUp
    case pageDown
    case tab
    case interrupt

    /// Decodes the bytes of one read: plain text, control keys and the common escape sequences.
    static func parse(_ bytes: [UInt8]) -> [Key] {
        var keys: [Key] = []
        var index = 0
        var text: [UInt8] = []
        func flushText() {
            if !text.isEmpty {
                keys += String(decoding: text, as: UTF8.self).map { Key.character($0) }
                text = []
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x1B:
                flushText()
                let rest = Array(bytes[(index + 1)...])
                let sequences: [([UInt8], Key)] = [
                    (Array("[A".utf8), .up), (Array("[B".utf8), .down), (Array("OA".utf8), .up), (Array("OB".utf8), .down),
                    (Array("[5~".utf8), .pageUp), (Array("[6~".utf8), .pageDown),
                ]
                if let (sequence, key) = sequences.first(where: { rest.starts(with: $0.0) }) {
                    keys.append(key)
                    index += 1 + sequence.count
                    continue
                }
                if rest.first == UInt8(ascii: "[") {
                    // An unknown CSI sequence: skip it up to its final byte.
                    var end = index + 2
                    while end < bytes.count, !(0x40...0x7E).contains(bytes[end]) { end += 1 }
                    index = end + 1
                    continue
                }
                keys.append(.escape)
            case 0x0D, 0x0A:
                flushText()
                keys.append(.enter)
            case 0x7F, 0x08:
                flushText()
                keys.append(.backspace)
            case 0x09:
                flushText()
                keys.append(.tab)
            case 0x03, 0x04:
                flushText()
                keys.append(.interrupt)
            case 0x00..<0x20:
                break
            default:
                text.append(byte)
            }
            index += 1
        }
        flushText()
        return keys
    }
}
