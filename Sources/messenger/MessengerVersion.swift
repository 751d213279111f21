/// The release version; bump it with each release. The commit comes from ``BuildInfo`` (generated at build time).
enum MessengerVersion {
    static let number = "0.12.0"

    /// What `messenger --version` prints.
    static var description: String { "messenger \(Self.number) (commit \(BuildInfo.commit))" }
}
