/// The counters and gauges of both daemons, declared once each: a counter set is a struct of
/// plain `Int` fields (an increment stays an integer add on the hot path) with one static table
/// that names every field, says whether it is a running total or a level, and explains it. The
/// stats line, the metrics endpoint (`# HELP`, `# TYPE`) and the counter glossary's check all
/// render from that table, so a new counter is one field, one table entry and the line that
/// increments it.

/// Whether a value only goes up (a running total: Prometheus `counter`, `_total`) or is a level
/// read now (Prometheus `gauge`).
public enum MetricKind: Sendable, Equatable {
    case counter, gauge
}

/// One value as both outputs show it: `key=value` on the stats line, and a Prometheus sample
/// named after `key`.
public struct MetricValue: Sendable, Equatable {
    /// The stats line's key: `captured`, `malformed_not_tcp`, `send_error_EPERM`, ...
    public var key: String
    public var value: Int
    public var kind: MetricKind
    /// The declaration's help text (a family's, with the member's label).
    public var help: String

    public init(key: String, value: Int, kind: MetricKind, help: String) {
        self.key = key
        self.value = value
        self.kind = kind
        self.help = help
    }

    /// The Prometheus name under `program`: levels as they are, totals with `_total`.
    public func prometheusName(program: String) -> String {
        let name = "\(program)_\(MetricValue.sanitized(key))"
        return kind == .gauge ? name : name + "_total"
    }

    /// Prometheus names allow `[a-zA-Z0-9_]`; anything else (an errno name never has any) becomes `_`.
    static func sanitized(_ key: some StringProtocol) -> String {
        String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
    }
}

/// A struct of counters with the table that declares them, in stats-line order.
public protocol MetricSet: Sendable {
    static var metrics: [MetricDeclaration<Self>] { get }
}

extension MetricSet {
    /// Every declared value now, in declaration order.
    public var metricValues: [MetricValue] {
        var values: [MetricValue] = []
        for declaration in Self.metrics { declaration.render(self, &values) }
        return values
    }

    /// The stats line's part for this set.
    public var line: CounterLine { CounterLine(metricValues) }

    /// What the counter glossary (docs/counters.md) must name, one entry per declaration.
    public static var glossary: [MetricGlossaryEntry] { metrics.flatMap(\.glossary) }
}

/// What the counter glossary must name for one declaration: its key, or a family as
/// `prefix_<label>` (after its total's key, when it has one); a family whose labels are known
/// in advance may instead name every member.
public struct MetricGlossaryEntry: Sendable, Equatable {
    public var names: [String]
    /// Every key of a family with labels known in advance; empty otherwise.
    public var members: [String]
}

/// One entry of a `MetricSet`'s table: a counter or a gauge read through a key path, a family of
/// counters by label (`malformed_<reason>`, `sessions_<outcome>`, `send_error_<errno>`), or a
/// nested set rendered in place.
public struct MetricDeclaration<Root>: Sendable {
    /// The stats-line key, or a family's prefix; empty for a nested set.
    public let name: String
    public let kind: MetricKind
    public let help: String
    /// What the glossary must show for this entry.
    public let glossary: [MetricGlossaryEntry]
    let render: @Sendable (Root, inout [MetricValue]) -> Void

    /// A running total.
    public static func counter(_ name: String, _ path: KeyPath<Root, Int> & Sendable, _ help: String) -> Self {
        single(name, .counter, path, help)
    }

    /// A level: what is true now (live sessions, open connections, memory).
    public static func gauge(_ name: String, _ path: KeyPath<Root, Int> & Sendable, _ help: String) -> Self {
        single(name, .gauge, path, help)
    }

    private static func single(
        _ name: String, _ kind: MetricKind, _ path: KeyPath<Root, Int> & Sendable, _ help: String
    ) -> Self {
        Self(name: name, kind: kind, help: help, glossary: [.init(names: [name], members: [])]) { root, values in
            values.append(MetricValue(key: name, value: root[keyPath: path], kind: kind, help: help))
        }
    }

    /// Counters by a label known in advance: `prefix_<label>` for each case, in `allCases` order.
    /// `total`: the key of their sum, shown first. `zeros`: whether a member at 0 is shown (a
    /// member that appears only once it happened keeps a quiet line quiet).
    public static func family<Label: CaseIterable & RawRepresentable & Sendable>(
        _ prefix: String, _ path: KeyPath<Root, [Label: Int]> & Sendable, label: String, total: String? = nil,
        zeros: Bool, _ help: String
    ) -> Self where Label.RawValue == String {
        // An empty prefix: the labels are whole keys already (`compare_target_reset`).
        @Sendable func key(_ raw: String) -> String { prefix.isEmpty ? raw : "\(prefix)_\(raw)" }
        let names = (total.map { [$0] } ?? []) + [key("<\(label)>")]
        let members = Label.allCases.map { key($0.rawValue) }
        let glossary = [MetricGlossaryEntry(names: names, members: members)]
        return Self(name: prefix, kind: .counter, help: help, glossary: glossary) { root, values in
            let counts = root[keyPath: path]
            if let total {
                values.append(MetricValue(key: total, value: counts.values.reduce(0, +), kind: .counter, help: help))
            }
            for member in Label.allCases {
                let count = counts[member, default: 0]
                guard zeros || count > 0 else { continue }
                values.append(
                    MetricValue(
                        key: key(member.rawValue), value: count, kind: .counter,
                        help: "\(help) (\(label) \(member.rawValue))"))
            }
        }
    }

    /// Counters by a label seen at run time (an errno name): `prefix_<label>` for each one
    /// counted, sorted by label, after their sum under `total` when given.
    public static func family(
        _ prefix: String, _ path: KeyPath<Root, [String: Int]> & Sendable, label: String, total: String? = nil,
        _ help: String
    ) -> Self {
        let names = (total.map { [$0] } ?? []) + ["\(prefix)_<\(label)>"]
        let glossary = [MetricGlossaryEntry(names: names, members: [])]
        return Self(name: prefix, kind: .counter, help: help, glossary: glossary) { root, values in
            let counts = root[keyPath: path]
            if let total {
                values.append(MetricValue(key: total, value: counts.values.reduce(0, +), kind: .counter, help: help))
            }
            for (member, count) in counts.sorted(by: { $0.key < $1.key }) {
                values.append(
                    MetricValue(
                        key: "\(prefix)_\(member)", value: count, kind: .counter, help: "\(help) (\(label) \(member))"))
            }
        }
    }

    /// Another set's declarations, rendered here in its order.
    public static func nested<Inner: MetricSet>(_ path: KeyPath<Root, Inner> & Sendable) -> Self {
        Self(name: "", kind: .counter, help: "", glossary: Inner.glossary) { root, values in
            for declaration in Inner.metrics { declaration.render(root[keyPath: path], &values) }
        }
    }

    /// A set that exists only in some configurations (the link-layer sink's counters): rendered
    /// when present, absent from both outputs otherwise.
    public static func nested<Inner: MetricSet>(_ path: KeyPath<Root, Inner?> & Sendable) -> Self {
        Self(name: "", kind: .counter, help: "", glossary: Inner.glossary) { root, values in
            guard let inner = root[keyPath: path] else { return }
            for declaration in Inner.metrics { declaration.render(inner, &values) }
        }
    }
}
