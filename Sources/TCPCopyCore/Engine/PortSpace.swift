/// The busy client ports of one client address towards one target endpoint. While few are busy
/// it is a small set; past that, a bitmap of all 65,536 ports, so that finding a free port costs
/// a scan of 1,024 words at worst, however full the space is.
///
/// A busy port is either used by a session or cooling after one (see `CopyPortAllocator`). A
/// cooling port carries a mark, the time its cooling started, which its entry in the
/// allocator's expiry queue must match to free it: taken back and cooled again, the port keeps
/// only its latest cooling. The marks live here, 4 bytes a port, rather than in a dictionary
/// beside the queue, which at 3,000 connections a second (60 s of TIME_WAIT) cost megabytes.
struct PortSpace: Sendable {
    static let firstRelocatablePort = 1024
    private static let bitmapThreshold = 256

    private var small: Set<UInt16> = []
    private var smallMarks: [UInt16: UInt32] = [:]
    private var bits: [UInt64]?
    /// One per port once `bits` exists; 0 for a port that is not cooling.
    private var marks: [UInt32] = []
    /// The cooling ports once `bits` exists (those with a mark), to find one by words.
    private var coolingBits: [UInt64] = []
    private(set) var busyCount = 0

    var isEmpty: Bool { busyCount == 0 }

    func contains(_ port: UInt16) -> Bool {
        if let bits { return bits[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0 }
        return small.contains(port)
    }

    /// Marks `port` busy; false if it already was.
    mutating func insert(_ port: UInt16) -> Bool {
        guard !contains(port) else { return false }
        busyCount += 1
        if bits == nil && busyCount > Self.bitmapThreshold {
            var map = [UInt64](repeating: 0, count: 1024)
            for busy in small { map[Int(busy) >> 6] |= 1 << UInt64(busy & 63) }
            bits = map
            small = []
            marks = [UInt32](repeating: 0, count: 65536)
            coolingBits = [UInt64](repeating: 0, count: 1024)
            for (port, mark) in smallMarks {
                marks[Int(port)] = mark
                coolingBits[Int(port) >> 6] |= 1 << UInt64(port & 63)
            }
            smallMarks = [:]
        }
        if bits != nil {
            bits![Int(port) >> 6] |= 1 << UInt64(port & 63)
        } else {
            small.insert(port)
        }
        return true
    }

    mutating func remove(_ port: UInt16) {
        guard contains(port) else { return }
        busyCount -= 1
        if bits != nil {
            bits![Int(port) >> 6] &= ~(1 << UInt64(port & 63))
            marks[Int(port)] = 0
            coolingBits[Int(port) >> 6] &= ~(1 << UInt64(port & 63))
        } else {
            small.remove(port)
            smallMarks[port] = nil
        }
    }

    /// The cooling mark of `port`; 0 when it is free or used by a session.
    func coolingMark(_ port: UInt16) -> UInt32 {
        bits != nil ? marks[Int(port)] : smallMarks[port] ?? 0
    }

    /// `port` (busy) starts cooling, or cools again, marked `mark` (not 0); 0 makes it a
    /// session's port again.
    mutating func setCoolingMark(_ port: UInt16, _ mark: UInt32) {
        guard contains(port) else { return }
        if bits != nil {
            marks[Int(port)] = mark
            if mark == 0 {
                coolingBits[Int(port) >> 6] &= ~(1 << UInt64(port & 63))
            } else {
                coolingBits[Int(port) >> 6] |= 1 << UInt64(port & 63)
            }
        } else {
            smallMarks[port] = mark == 0 ? nil : mark
        }
    }

    /// The first cooling port from `start` upwards through 1024...65535, wrapping; nil when
    /// none is. Only asked once every port is busy, which takes the bitmap.
    func firstCooling(from start: UInt16) -> UInt16? {
        guard bits != nil else { return nil }
        return Self.firstSet(in: coolingBits, from: start)
    }

    /// The first free port from `start` upwards through 1024...65535, wrapping; nil when all
    /// of them are busy.
    func firstFree(from start: UInt16) -> UInt16? {
        let low = Self.firstRelocatablePort
        let first = max(Int(start), low)
        guard let bits else {
            // At most `bitmapThreshold` ports are busy: a free one is near.
            var port = first
            for _ in low...65535 {
                if !small.contains(UInt16(port)) { return UInt16(port) }
                port = port == 65535 ? low : port + 1
            }
            return nil
        }
        return Self.firstSet(in: bits, from: start, inverted: true)
    }

    /// The first port from `start` upwards through 1024...65535, wrapping, whose bit is set in
    /// `words` (clear, if `inverted`); nil when there is none.
    private static func firstSet(in words: [UInt64], from start: UInt16, inverted: Bool = false) -> UInt16? {
        let low = firstRelocatablePort
        let first = max(Int(start), low)
        func scan(_ from: Int, _ through: Int) -> UInt16? {
            var word = from >> 6
            var mask = ~UInt64(0) << UInt64(from & 63)
            while word <= through >> 6 {
                let wanted = (inverted ? ~words[word] : words[word]) & mask
                if wanted != 0 {
                    let port = word << 6 + wanted.trailingZeroBitCount
                    return port <= through ? UInt16(port) : nil
                }
                word += 1
                mask = ~0
            }
            return nil
        }
        return scan(first, 65535) ?? (first > low ? scan(low, first - 1) : nil)
    }
}
