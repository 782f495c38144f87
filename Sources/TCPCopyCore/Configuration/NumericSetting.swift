/// A numeric setting with its accepted range: the single source of truth shared by the command
/// lines (their help and parsing) and by the configurations' `validate()`.
public struct NumericSetting: Hashable, Sendable {
    /// What the number is, as a user would name it ("port", "number of copies").
    public var name: String
    public var range: ClosedRange<Int>
    /// Unit in messages ("seconds"), or nil for plain counts.
    public var unit: String?

    public init(name: String, range: ClosedRange<Int>, unit: String? = nil) {
        self.name = name
        self.range = range
        self.unit = unit
    }

    /// "from 1 to 65535", "from 1 to 86400 seconds".
    public var rangeDescription: String {
        let text = "from \(range.lowerBound) to \(range.upperBound)"
        return unit.map { "\(text) \($0)" } ?? text
    }
}

extension NumericSetting {
    public static let port = NumericSetting(name: "port", range: 1...65535)

    // tcpcopy
    public static let copies = NumericSetting(name: "number of copies", range: 1...1000)
    /// Each factor owns a block of 1000 copy numbers; 64 blocks fill the unprivileged port range.
    public static let portShift = NumericSetting(name: "port shift factor", range: 0...63)
    public static let sessionRate = NumericSetting(
        name: "share of sessions copied", range: 1...100, unit: "percent")
    /// Capped at a day so that time arithmetic in nanoseconds can never overflow.
    public static let sessionTimeout = NumericSetting(
        name: "session timeout", range: 1...86_400, unit: "seconds")
    /// 576 is the smallest MTU every IPv4 host must accept (RFC 791); 65535 is the IP maximum.
    public static let mtu = NumericSetting(name: "MTU", range: 576...65_535, unit: "bytes")
    /// 536 is the default MSS of RFC 879; 65495 is the largest MSS a 65535-byte packet allows.
    public static let synMSS = NumericSetting(name: "SYN MSS", range: 536...65_495, unit: "bytes")
    /// The original stored `-m` in a bit-field and silently read 2048 as 0; ours takes up to 1 TiB.
    public static let memoryLimit = NumericSetting(
        name: "memory limit", range: 16...1_048_576, unit: "MiB")
    /// Kernel memory for captured packets tcpcopy has not read yet. At least 1 MiB: less drops
    /// copies in any burst; at most 1 GiB, which holds tens of seconds of a busy service.
    public static let captureBuffer = NumericSetting(
        name: "capture buffer", range: 1...1024, unit: "MiB")
    /// Bounded so that tables sized from it stay allocatable.
    public static let maxSessions = NumericSetting(
        name: "session limit", range: 1...16_777_216, unit: "sessions")
    /// Idle gaps of a replayed file are shortened to this (`-I`); up to a day.
    public static let idleGap = NumericSetting(name: "idle gap", range: 1...86_400_000, unit: "milliseconds")
    /// Times a capture file is replayed (`--loop`).
    public static let replayLoops = NumericSetting(name: "number of replays", range: 1...1_000_000)

    // intercept
    public static let queueNumber = NumericSetting(name: "NFQUEUE number", range: 0...65_535)
    /// 0 keeps the kernel's default queue length (1024).
    public static let queueMaxLength = NumericSetting(
        name: "queue length", range: 0...1_048_576, unit: "packets")
    public static let routeTimeout = NumericSetting(
        name: "route timeout", range: 1...86_400, unit: "seconds")

    // both
    /// Up to 0.1 s: a copy delayed longer than that starts to disturb the target's timers.
    public static let batchWindow = NumericSetting(
        name: "batch window", range: 0...100_000, unit: "microseconds")
    /// 0 prints the counters only at exit.
    public static let statsInterval = NumericSetting(
        name: "statistics interval", range: 0...86_400, unit: "seconds")
}
