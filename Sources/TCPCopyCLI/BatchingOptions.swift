import ArgumentParser
import TCPCopyCore

/// The event-loop option both daemons share: how long a busy loop lets packets gather before it
/// wakes again (`WakeupWindow`).
public struct BatchingOptions: ParsableArguments {
    /// 2 ms: in the benchmark at 3,000 short req/s, 1 ms cost tcpcopy 20% and intercept 35%
    /// more CPU than 2 ms (a VM's context switches cost more than a packet), and a copy's
    /// answer then takes at most 4 ms longer to come back through both daemons.
    static let defaultMicroseconds = 2000

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Under load, wake up at most once per this many microseconds and handle everything "
                + "that arrived meanwhile in one batch, \(NumericSetting.batchWindow.rangeDescription). "
                + "Copies are delayed by at most this much; light traffic is not delayed. 0 wakes "
                + "for every packet, at several times the CPU cost (default: \(defaultMicroseconds)).",
            valueName: "microseconds"),
        transform: { try ConfigurationParser.integer($0, for: .batchWindow) })
    public var batchWindow: Int = defaultMicroseconds

    public init() {}
}
