/// Renders counters as one log line of `key=value` pairs, the format both daemons print at
/// exit and every `--stats-interval`, and that the tests and the lab parse.
public struct CounterLine: Sendable {
    private var fields: [(String, Int)] = []

    public init() {}

    /// The values of a `MetricSet`, in their order.
    public init(_ values: [MetricValue]) { fields = values.map { ($0.key, $0.value) } }

    public mutating func add(_ key: String, _ value: Int) { fields.append((key, value)) }

    public var text: String { fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }
}
