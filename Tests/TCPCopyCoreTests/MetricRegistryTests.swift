import Foundation
import Testing

@testable import TCPCopyCore

/// A small counter set exercising every kind of declaration.
private struct Sample: MetricSet {
    enum Color: String, CaseIterable, Sendable { case red, green, blue }

    struct Inner: MetricSet {
        var depth = 0
        static let metrics: [MetricDeclaration<Self>] = [.counter("depth", \.depth, "How deep")]
    }

    var first = 0
    var level = 0
    var colors: [Color: Int] = [:]
    var rare: [Color: Int] = [:]
    var errors: [String: Int] = [:]
    var inner = Inner()
    var optional: Inner?

    static let metrics: [MetricDeclaration<Self>] = [
        .counter("first", \.first, "The first one"),
        .gauge("level", \.level, "A level"),
        .family("color", \.colors, label: "color", zeros: true, "Things by color"),
        .family("rare", \.rare, label: "color", total: "rare", zeros: false, "Rare things"),
        .nested(\.inner),
        .family("error", \.errors, label: "ERRNO", total: "errors", "Failures"),
        .nested(\.optional),
    ]
}

@Suite struct MetricRegistryTests {
    @Test func rendersInDeclarationOrderWithNestedSetsInPlace() {
        var sample = Sample()
        sample.first = 3
        sample.level = 7
        sample.colors[.blue] = 2
        sample.rare[.green] = 4
        sample.inner.depth = 5
        sample.errors = ["EPERM": 1, "EAGAIN": 2]
        #expect(
            sample.line.text
                == "first=3 level=7 color_red=0 color_green=0 color_blue=2 rare=4 rare_green=4 depth=5 errors=3 "
                + "error_EAGAIN=2 error_EPERM=1")
        sample.optional = Sample.Inner(depth: 9)
        #expect(sample.line.text.hasSuffix("error_EPERM=1 depth=9"))
    }

    @Test func familiesShowZerosOnlyWhenAsked() {
        let text = Sample().line.text
        #expect(text == "first=0 level=0 color_red=0 color_green=0 color_blue=0 rare=0 depth=0 errors=0")
    }

    @Test func gaugesAndCountersAreNamedForPrometheus() {
        let values = Sample().metricValues
        let level = values.first { $0.key == "level" }!
        let first = values.first { $0.key == "first" }!
        #expect(level.kind == .gauge && level.prometheusName(program: "x") == "x_level")
        #expect(first.kind == .counter && first.prometheusName(program: "x") == "x_first_total")
        #expect(
            MetricValue(key: "a-b", value: 0, kind: .counter, help: "").prometheusName(program: "x") == "x_a_b_total")
    }

    @Test func helpTextComesFromTheDeclaration() {
        var sample = Sample()
        sample.rare[.red] = 1
        let help = Dictionary(uniqueKeysWithValues: sample.metricValues.map { ($0.key, $0.help) })
        #expect(help["first"] == "The first one")
        #expect(help["color_green"] == "Things by color (color green)")
        #expect(help["rare"] == "Rare things")
        #expect(help["rare_red"] == "Rare things (color red)")
        #expect(help["depth"] == "How deep")
    }

    @Test func theGlossaryListsFamiliesOnce() {
        #expect(
            Sample.glossary.map(\.names) == [
                ["first"], ["level"], ["color_<color>"], ["rare", "rare_<color>"], ["depth"],
                ["errors", "error_<ERRNO>"],
                ["depth"],
            ])
        #expect(Sample.glossary[2].members == ["color_red", "color_green", "color_blue"])
        #expect(Sample.glossary[5].members.isEmpty)
    }

    /// One declaration is the whole counter: the stats line and the metrics endpoint both show it.
    @Test func aDeclaredCounterAppearsInBothOutputs() {
        var counters = TCPCopyDaemonCounters()
        counters.engine.sessionsStarted = 4
        counters.sessionsLive = 2
        let values = counters.metricValues
        #expect(counters.line.text.contains(" sessions_started=4 "))
        let started = values.first { $0.key == "sessions_started" }!
        #expect(started.prometheusName(program: "tcpcopy") == "tcpcopy_sessions_started_total")
        #expect(started.value == 4 && !started.help.isEmpty)
        let live = values.first { $0.key == "sessions_live" }!
        #expect(live.prometheusName(program: "tcpcopy") == "tcpcopy_sessions_live" && live.value == 2)
        // The logged line read back gives the same names and kinds.
        let read = StatsLineMetrics.samples(statsLine: counters.line.text, program: "tcpcopy")
        #expect(read.map(\.name) == values.map { $0.prometheusName(program: "tcpcopy") })
        #expect(read.map(\.kind) == values.map(\.kind))
    }

    @Test func everyDaemonKeyIsUniqueAndExplained() {
        for values in [TCPCopyDaemonCounters().metricValues, InterceptDaemonCounters().metricValues] {
            let keys = values.map(\.key)
            #expect(Set(keys).count == keys.count)
            #expect(values.allSatisfy { !$0.help.isEmpty })
        }
    }

    /// docs/counters.md names every declared counter (a family as `prefix_<label>`).
    @Test func theGlossaryNamesEveryCounter() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let glossary = try String(contentsOf: root.appendingPathComponent("docs/counters.md"), encoding: .utf8)
        let sections = glossary.components(separatedBy: "\n## ")
        let tcpcopy = sections.first { $0.hasPrefix("tcpcopy") } ?? ""
        let intercept = sections.first { $0.hasPrefix("intercept") } ?? ""
        for (section, entries) in [
            (tcpcopy, TCPCopyDaemonCounters.glossary), (intercept, InterceptDaemonCounters.glossary),
        ] {
            for entry in entries {
                let named = entry.names.allSatisfy { section.contains("`\($0)`") }
                let everyMember = !entry.members.isEmpty && entry.members.allSatisfy { section.contains("`\($0)`") }
                #expect(named || everyMember, "docs/counters.md: no row for \(entry.names)")
            }
        }
    }
}
