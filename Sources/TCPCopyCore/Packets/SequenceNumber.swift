/// A TCP sequence number: 32-bit arithmetic that wraps, compared the way RFC 793 §3.3 compares
/// them (a is before b when b - a, taken modulo 2³², is below 2³¹).
public struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static func + (lhs: Self, rhs: Int) -> Self {
        Self(lhs.rawValue &+ UInt32(truncatingIfNeeded: rhs))
    }

    public static func += (lhs: inout Self, rhs: Int) { lhs = lhs + rhs }

    /// Distance from `rhs` to `lhs`, negative when `lhs` comes before `rhs`.
    public static func - (lhs: Self, rhs: Self) -> Int {
        Int(Int32(bitPattern: lhs.rawValue &- rhs.rawValue))
    }

    /// Exactly 2³¹ apart, RFC 1982 leaves the order undefined; we break the tie by raw value so
    /// that the order stays antisymmetric.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        let distance = rhs.rawValue &- lhs.rawValue
        return distance != 0
            && (distance < 0x8000_0000 || (distance == 0x8000_0000 && lhs.rawValue < rhs.rawValue))
    }
    public static func <= (lhs: Self, rhs: Self) -> Bool { !(rhs < lhs) }
    public static func > (lhs: Self, rhs: Self) -> Bool { rhs < lhs }
    public static func >= (lhs: Self, rhs: Self) -> Bool { !(lhs < rhs) }

    /// The later of two sequence numbers in wrap-aware order.
    public static func latest(_ a: Self, _ b: Self) -> Self { a >= b ? a : b }

    public var description: String { String(rawValue) }
}
