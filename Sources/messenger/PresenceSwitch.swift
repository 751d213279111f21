import ArgumentParser

/// `--presence on|off`.
enum PresenceSwitch: String, ExpressibleByArgument, Sendable {
    case on
    case off
}
