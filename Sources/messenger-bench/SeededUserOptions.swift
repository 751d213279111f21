import ArgumentParser

/// The user the scenarios on the large seeded data set (`listing`, `search`) act as.
struct SeededUserOptions: ParsableArguments {
    @Option(help: "Existing user to act as (dev login), e.g. `seed1` from scripts/seed-large.sql.")
    var username: String = "seed1"
}
