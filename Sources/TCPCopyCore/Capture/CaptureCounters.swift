/// What tcpcopy's packet source counted, whatever the source: the kernel's drops and cut
/// packets first, then what a link-layer source (`-i`, `--offline`) skipped, then a replay's
/// own counts. A source copies its counts in when the stats line is rendered.
public struct CaptureCounters: Sendable, Equatable, MetricSet {
    public var dropped = 0
    public var truncated = 0
    /// With `-i` or `--offline` only.
    public var linkLayer: LinkCaptureCounters?
    /// With `--offline` only.
    public var replay: ReplayCounters?

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter(
            "capture_dropped", \.dropped,
            "Packets the kernel dropped because tcpcopy's capture buffer was full: copies lost before tcpcopy saw them"),
        .counter(
            "capture_truncated", \.truncated,
            "Packets longer than a capture slot, or frames cut short by the snap length (counted rather than half-read)"
        ),
        .nested(\.linkLayer),
        .nested(\.replay),
    ]
}

/// A capture file's replay (`--offline`): what it held and what was sent of it.
public struct ReplayCounters: Sendable, Equatable, MetricSet {
    public var clientPackets = 0
    public var answersSkipped = 0
    public var otherSkipped = 0
    public var sessionsInFile = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("replay_client_packets", \.clientPackets, "Clients' packets of the routes replayed from the file"),
        .counter(
            "replay_answers_skipped", \.answersSkipped, "The online server's packets in the file, not sent"),
        .counter("replay_other_skipped", \.otherSkipped, "Other packets in the file, not sent"),
        .counter("replay_sessions_in_file", \.sessionsInFile, "Sessions the file holds (counted by SYN)"),
    ]
}
