import Testing

@testable import PostgresLibPQ

@Suite("Embedded PostgreSQL: reading psql's output")
struct EmbeddedPostgresOutputTests {
    /// psql run as the `postgres` user from a folder it cannot enter warns on standard error, which the captured
    /// output includes. A clone in `/tmp/ci31.7pju` once made "is there a database?" answer yes for every cluster.
    @Test("a row `1` is found as a whole line, not in a warning that happens to contain a 1")
    func rowOneIsAWholeLine() {
        let warning = "could not change directory to \"/tmp/ci31.7pju\": Permission denied\n"
        #expect(!EmbeddedPostgres.hasRowOne(warning))
        #expect(!EmbeddedPostgres.hasRowOne(""))
        #expect(!EmbeddedPostgres.hasRowOne("11\n"))
        #expect(EmbeddedPostgres.hasRowOne(warning + "1\n"))
        #expect(EmbeddedPostgres.hasRowOne("1\n"))
    }
}
