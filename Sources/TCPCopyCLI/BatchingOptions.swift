import ArgumentParser
import TCPCopyCore

/// The event-loop option both daemons share: how long a busy loop lets packets gather before it
/// wakes again (`WakeupWindow`). Each daemon has its own default (its configuration's).
public struct BatchingOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Under load, wake up at most once per this many microseconds and handle everything "
                + "that arrived meanwhile in one batch, \(NumericSetting.batchWindow.rangeDescription). "
                + "Copies are delayed by at most this much; light traffic is not delayed. 0 wakes "
                + "for every packet, at several times the CPU cost (default: "
                + "\(TCPCopyConfiguration(routes: []).batchWindowMicroseconds) for tcpcopy, "
                + "\(InterceptConfiguration().batchWindowMicroseconds) for intercept).",
            valueName: "microseconds"),
        transform: { try ConfigurationParser.integer($0, for: .batchWindow) })
    public var batchWindow: Int?

    public init() {}
}
