/// `tcpcopy --compare` and its options: nil in the configuration when off.
public struct CompareSettings: Sendable, Equatable {
    /// `--compare-mode`.
    public var mode: CompareMode = .bytes
    /// `--compare-ignore-header` (any case).
    public var maskedHeaders: [String] = []
    /// `--compare-log`: JSON lines, one per mismatch (every exchange with `logAll`).
    public var logPath: String?
    /// `--compare-log-all`.
    public var logAll = false

    public init(mode: CompareMode = .bytes, maskedHeaders: [String] = [], logPath: String? = nil, logAll: Bool = false)
    {
        self.mode = mode
        self.maskedHeaders = maskedHeaders
        self.logPath = logPath
        self.logAll = logAll
    }
}
