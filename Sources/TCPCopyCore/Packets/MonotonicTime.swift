/// A point on a monotonic clock, in milliseconds. The core never reads a clock: the I/O layer
/// passes the current time into every event, which keeps the state machines testable.
public struct MonotonicTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static let zero = MonotonicTime(milliseconds: 0)

    public static func + (lhs: Self, ms: Int64) -> Self { Self(milliseconds: lhs.milliseconds + ms) }
    public static func - (lhs: Self, rhs: Self) -> Int64 { lhs.milliseconds - rhs.milliseconds }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String { "\(milliseconds)ms" }
}
