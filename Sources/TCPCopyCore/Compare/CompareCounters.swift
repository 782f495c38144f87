/// tcpcopy's `--compare` counts: the exchanges compared and how each ended, for the stats line.
public struct CompareCounters: Sendable, Equatable, MetricSet {
    public var exchanges = 0
    public var outcomes: [CompareOutcome: Int] = [:]
    public var sessions = 0
    public var sessionsUntracked = 0
    public var answerPieces = 0
    public var logged = 0
    public var logErrors = 0
    public var captureDropped = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .family(
            "", \.outcomes, label: "outcome", total: CompareOutcome.totalCounterName, zeros: true,
            "Request-answer exchanges compared (production's answer against the target's), by outcome"),
        .counter("compare_sessions", \.sessions, "Copied sessions whose exchanges were compared"),
        .counter(
            "compare_sessions_untracked", \.sessionsUntracked,
            "Copied sessions not compared: no production connection was tracked for them"),
        .counter("compare_answer_pieces", \.answerPieces, "Pieces of the target's answers received from intercept"),
        .counter("compare_logged", \.logged, "Exchanges written to the compare log"),
        .counter("compare_log_errors", \.logErrors, "Exchanges the compare log could not take"),
        .counter(
            "compare_capture_dropped", \.captureDropped,
            "Packets the kernel dropped from the capture of production's answers"),
    ]
}

/// intercept's `--compare` side: the pieces of the target's answers it reported to tcpcopy.
public struct AnswerReportCounters: Sendable, Equatable, MetricSet {
    public var pieces = 0
    public var repeatsSkipped = 0
    public var routes = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("answer_pieces", \.pieces, "Pieces of the target's answers reported to tcpcopy"),
        .counter(
            "answer_repeats_skipped", \.repeatsSkipped, "Repeated answer bytes (retransmissions) not reported again"),
        .counter("compared_routes", \.routes, "Routes whose answers are reported"),
    ]
}
