import Foundation

/// One message to store: what the send statement takes for each send, alone or in a batch.
struct MessageSend: Sendable {
    var userID: Int64
    var conversationID: Int64
    var content: String
    var clientID: String?
}
