import Foundation

// MARK: - --compare: the same scenarios against another tutorial-compatible server

// The other server of a `--compare URL` run: each scenario runs on `--url` first, then on that one (a second
// `Bench` on the same client), and the two reports are printed side by side. The other server may be any
// implementation of the tutorial's API (HTTP + SSE only): a scenario that needs one of our extensions (groups,
// stream ids and resume, presence, search, a seeded data set) fails there and is reported as skipped with the
// reason, without failing the run. The raw-INSERT baseline is only run for `--url` (its database is the one we know).

extension ScenarioReport {
    /// A scenario that could not run on the compared server: its error becomes a note, so the run stays green.
    func asSkippedOnCompared() -> ScenarioReport {
        var copy = ScenarioReport(name: self.name)
        copy.params = self.params
        copy.metrics = self.metrics
        copy.notes = self.notes + self.errors.map { "skipped on the compared server (an extension it lacks, or unreachable): \($0)" }
        return copy
    }
}

/// Prints `ours` and `theirs` as one table: every metric of either, in our order, with both values.
func printSideBySide(_ ours: ScenarioReport, _ theirs: ScenarioReport, oursURL: String, theirsURL: String) {
    print("")
    print("== \(ours.name): side by side")
    var names: [String] = ours.metrics.map(\.name)
    for metric in theirs.metrics where !names.contains(metric.name) { names.append(metric.name) }
    let width = max(24, (names.map(\.count).max() ?? 0) + 2)
    let column = 14
    func cell(_ text: String) -> String { String(repeating: " ", count: max(0, column - text.count)) + text }
    print("  \("".padding(toLength: width, withPad: " ", startingAt: 0))\(cell("this"))\(cell("compared"))")
    for name in names {
        let a = ours.metrics.first { $0.name == name }
        let b = theirs.metrics.first { $0.name == name }
        let unit = a?.unit ?? b?.unit ?? ""
        let left = a.map { fmt($0.value, $0.decimals) } ?? "-"
        let right = b.map { fmt($0.value, $0.decimals) } ?? "-"
        print("  \(name.padding(toLength: width, withPad: " ", startingAt: 0))\(cell(left))\(cell(right)) \(unit)")
    }
    for note in theirs.notes where note.hasPrefix("skipped on the compared server") { print("  compared: \(note)") }
    print("  this = \(oursURL), compared = \(theirsURL)")
}
