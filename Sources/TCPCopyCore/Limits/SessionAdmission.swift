/// Which new sessions may start: the one decision behind every session the engine opens, from a
/// client's SYN, synthesized from the data of a connection it never saw open, or reopened to
/// carry on a stream whose connection the target closed.
///
/// Two limits: `--max-sessions` live sessions, and the memory cap (`-m`) as `MemoryBudget` turns
/// the daemon's readings of its resident size into a session limit. Synthesized sessions get
/// half of each: a packet without SYN is all it takes to open one, so a flood of spoofed data
/// segments from random addresses would otherwise fill the table and the memory, and real new
/// connections (which announce themselves with a SYN) would then find no room. With half kept
/// for them, a flood costs at most half the table and half the memory cap, and real sessions
/// keep being copied through it.
///
/// The core reads no clock and makes no syscall: the daemon reads the resident size and hands it
/// over (`read(resident:liveSessions:)`), every 100 ms and whenever `wantsMemoryReading` says
/// enough sessions started since the last reading that the cap could be overshot.
public struct SessionAdmission: Sendable, Equatable {
    /// Where a new session comes from.
    public enum Origin: Sendable, Equatable {
        /// The client's own SYN.
        case clientSYN
        /// Data of a connection whose opening was not seen (opened before tcpcopy started, or a
        /// packet crafted to look like one).
        case synthesized
        /// The rest of a stream whose connection the target closed while the client went on.
        case reopened
    }

    /// Why a session was not started.
    public enum Verdict: Sendable, Equatable {
        case admitted
        /// `--max-sessions` (or, for a synthesized session, half of it) is reached.
        case tableFull
        /// The memory cap's session limit (or, for a synthesized session, half the cap) is reached.
        case memoryFull
    }

    /// New sessions after which a reading is due even before the daemon's next 100 ms beat.
    public static let sessionsPerReading = 128

    public let maxSessions: Int
    public private(set) var memory: MemoryBudget
    /// The last resident size handed over, in bytes.
    public private(set) var residentBytes = 0
    private var admittedSinceReading = 0

    public init(maxSessions: Int, memoryCapBytes: Int) {
        self.maxSessions = maxSessions
        memory = MemoryBudget(capBytes: memoryCapBytes)
    }

    /// Whether enough sessions started since the last reading that the daemon should read its
    /// resident size now.
    public var wantsMemoryReading: Bool { admittedSinceReading >= Self.sessionsPerReading }

    /// Whether freed memory is worth handing back to the kernel (malloc_trim): resident is over
    /// the share of the cap that synthesized sessions may use.
    public var memoryPressed: Bool { memory.sessionLimit != nil || residentBytes > memory.capBytes / 2 }

    /// A new reading of the resident size.
    public mutating func read(resident: Int, liveSessions: Int) -> MemoryBudget.Change {
        admittedSinceReading = 0
        residentBytes = resident
        return memory.update(resident: resident, liveSessions: liveSessions)
    }

    /// Whether `wanted` sessions of `origin` may start with `liveSessions` live.
    public mutating func decide(_ origin: Origin, wanted: Int, liveSessions: Int) -> Verdict {
        let after = liveSessions + wanted
        let halved = origin == .synthesized
        guard halved ? after * 2 <= maxSessions : after <= maxSessions else { return .tableFull }
        if let limit = memory.sessionLimit, halved ? after * 2 > limit : after > limit { return .memoryFull }
        if halved && residentBytes > memory.capBytes / 2 { return .memoryFull }
        admittedSinceReading += wanted
        return .admitted
    }
}
