/// An IPv6 address held as two 64-bit halves in host order (`fd00::1` is `high` 0xFD00 << 48,
/// `low` 1): a plain value, so a packet's addresses cost no allocation.
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From the eight 16-bit groups as written, `IPv6Address(0xFD00, 0, 0, 0, 0, 0, 0, 1)`.
    public init(
        _ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16,
        _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16
    ) {
        high = UInt64(g0) << 48 | UInt64(g1) << 32 | UInt64(g2) << 16 | UInt64(g3)
        low = UInt64(g4) << 48 | UInt64(g5) << 32 | UInt64(g6) << 16 | UInt64(g7)
    }

    /// `::ffff:a.b.c.d`, the form a dual-stack socket reports an IPv4 peer in.
    public init(mapping address: IPv4Address) {
        high = 0
        low = 0xFFFF_0000_0000 | UInt64(address.value)
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)
    public static let loopback = IPv6Address(high: 0, low: 1)

    /// The IPv4 address inside an IPv4-mapped address (`::ffff:0:0/96`), nil for any other.
    public var mappedIPv4: IPv4Address? {
        high == 0 && low >> 32 == 0xFFFF ? IPv4Address(UInt32(truncatingIfNeeded: low)) : nil
    }

    /// Group `index` (0...7), as written left to right.
    public func group(_ index: Int) -> UInt16 {
        precondition((0..<8).contains(index), "an IPv6 address has eight groups")
        let half = index < 4 ? high : low
        return UInt16(truncatingIfNeeded: half >> UInt64(48 - 16 * (index % 4)))
    }

    /// Reads 16 bytes in network order at `offset`; nil on short input.
    @inlinable static func read<C: Collection>(_ bytes: C, at offset: Int) -> IPv6Address?
    where C.Element == UInt8, C.Index == Int {
        guard offset >= 0, offset + 16 <= bytes.count,
            let a = bytes.readUInt32(at: offset), let b = bytes.readUInt32(at: offset + 4),
            let c = bytes.readUInt32(at: offset + 8), let d = bytes.readUInt32(at: offset + 12)
        else { return nil }
        return IPv6Address(high: UInt64(a) << 32 | UInt64(b), low: UInt64(c) << 32 | UInt64(d))
    }

    /// The 16 bytes in network order (for tests and for C calls that take `in6_addr`).
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> UInt64(56 - 8 * (i % 8))) }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }

    /// Parses the text forms of RFC 4291 §2.2: eight groups of 1 to 4 hex digits (either case),
    /// one `::` for a run of zero groups, and a dotted quad in place of the last two groups.
    /// Zone indexes (`%eth0`), brackets and prefix lengths are not part of an address: nil.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var gapAt: Int?  // index in `groups` where `::` stands
        var index = 0
        if utf8[0] == UInt8(ascii: ":") {
            guard utf8[1] == UInt8(ascii: ":") else { return nil }
            gapAt = 0
            index = 2
            if index == utf8.count { self = .unspecified; return }
        }
        while index < utf8.count {
            // One group, or the final dotted quad.
            var end = index
            while end < utf8.count && utf8[end] != UInt8(ascii: ":") { end += 1 }
            let part = utf8[index..<end]
            if part.contains(UInt8(ascii: ".")) {
                // Only as the last part, and only where two groups are still free.
                guard end == utf8.count, let v4 = IPv4Address(String(decoding: part, as: UTF8.self)) else {
                    return nil
                }
                groups.append(UInt16(v4.value >> 16))
                groups.append(UInt16(v4.value & 0xFFFF))
                index = end
                break
            }
            guard let group = Self.hexGroup(part) else { return nil }
            groups.append(group)
            guard groups.count <= 8 else { return nil }
            if end == utf8.count { index = end; break }
            // At a ':': a second one right after is the gap.
            index = end + 1
            if index < utf8.count && utf8[index] == UInt8(ascii: ":") {
                guard gapAt == nil else { return nil }
                gapAt = groups.count
                index += 1
                if index == utf8.count { break }
            } else if index == utf8.count {
                return nil  // a single trailing ':'
            }
        }
        if let gapAt {
            // `::` stands for at least one zero group (RFC 4291 §2.2).
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gapAt)
        }
        guard groups.count == 8 else { return nil }
        self.init(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
    }

    private static func hexGroup(_ part: ArraySlice<UInt8>) -> UInt16? {
        guard !part.isEmpty, part.count <= 4 else { return nil }
        var value: UInt16 = 0
        for byte in part {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// The canonical text of RFC 5952 §4: lowercase hex without leading zeros, the longest run
    /// of two or more zero groups (the first of equal runs) as `::`, and IPv4-mapped addresses
    /// with a dotted quad (§5), `::ffff:10.0.0.1`.
    public var description: String {
        if let v4 = mappedIPv4 { return "::ffff:\(v4)" }
        var bestStart = -1
        var bestLength = 1  // a single zero group is not compressed (§4.2.2)
        var runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength {
                    bestStart = runStart
                    bestLength = i - runStart
                }
                runStart = -1
            }
        }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(group(i), radix: 16)
            i += 1
        }
        return text
    }
}
