/// The link-layer sink's (`tcpcopy -o`) own counters: its next-hop look-ups.
public struct LinkLayerSinkCounters: Sendable, Equatable, MetricSet {
    public var unresolvedDropped = 0
    public var lookups = 0
    public var lookupFailures = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter(
            "next_hop_unresolved", \.unresolvedDropped, "Copies dropped because their next hop had no MAC yet"),
        .counter("next_hop_lookups", \.lookups, "Route and neighbour look-ups of next hops"),
        .counter("next_hop_lookup_failures", \.lookupFailures, "Next-hop look-ups that failed"),
    ]
}
