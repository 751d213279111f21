/// What a repository reports when a request cannot be done, in the domain's words; the HTTP edge
/// (``AppError/init(mapping:logger:)``) turns it into a status and a JSON body.
public enum RepositoryError: Error, Sendable, Equatable {
    /// The row the caller asked for does not exist or is not visible to the caller.
    case notFound
    /// Another request holds or changed the same thing; trying again may succeed.
    case conflict(String)
}
