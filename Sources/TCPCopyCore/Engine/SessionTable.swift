/// The live sessions, each in a numbered slot: the engine finds a session by its route once per
/// response (by its captured connection once per captured packet, through `SlotList`s) and then
/// works on it in place by slot number, with no further hashing and no copy of the session.
///
/// A slot freed while an event is being handled is not reused before `reclaimFreedSlots()`,
/// which the engine calls as each event starts: slot numbers an event holds on to keep naming
/// the sessions they named, or nothing.
///
/// A freed slot keeps its finished session (which released its buffers when it finished) until
/// the slot is reused: the entries are not optional because reading a field through an optional
/// array element copied the whole entry, session included, on every access.
struct SessionTable: Sendable {
    struct Entry: Sendable {
        var session: EmulatedSession
        /// The captured connection the session copies; nil once detached from it (the client
        /// reused the port for a new connection while this copy was still busy).
        var capture: CaptureKey?
        var isLive: Bool
    }

    private var entries: [Entry] = []
    private var slotOf = FlatTable<RouteKey, Int>(placeholder: -1)
    private var free: [Int] = []
    private var freedDuringEvent: [Int] = []

    var count: Int { slotOf.count }

    /// The slot of the session on `key`, if it is live.
    func slot(of key: RouteKey) -> Int? {
        slotOf[key]
    }

    func contains(_ slot: Int) -> Bool {
        slot >= 0 && slot < entries.count && entries.withUnsafeBufferPointer { $0[slot].isLive }
    }

    /// The session in `slot`, which must be live, modified in place (`_modify` yields the
    /// stored session): a session holds several arrays, and a copy would retain each and make
    /// the next append to them copy its buffer. Reads on hot paths go through `read`.
    subscript(slot: Int) -> EmulatedSession {
        get {
            precondition(contains(slot), "no session in slot \(slot)")
            return entries[slot].session
        }
        _modify {
            precondition(contains(slot), "no session in slot \(slot)")
            yield &entries[slot].session
        }
    }

    /// Reads the session in `slot` where it is stored: an array element read through the
    /// array's getter is copied whole first, which profiles showed on every packet.
    mutating func read<Result>(_ slot: Int, _ body: (inout EmulatedSession) -> Result) -> Result {
        precondition(contains(slot), "no session in slot \(slot)")
        return entries.withUnsafeMutableBufferPointer { body(&$0[slot].session) }
    }

    func capture(of slot: Int) -> CaptureKey? { entries.withUnsafeBufferPointer { $0[slot].capture } }

    mutating func detach(_ slot: Int) { entries[slot].capture = nil }

    /// Adds `session` and returns its slot. A live session on the same key (the port allocator
    /// never hands out a busy port, so this does not happen) would be replaced in its slot.
    mutating func insert(_ session: EmulatedSession, capture: CaptureKey?) -> Int {
        let key = session.key
        let slot: Int
        if let bucket = slotOf.index(forKey: key) {
            let existing = slotOf.value(at: bucket)
            entries[existing] = Entry(session: session, capture: capture, isLive: true)
            return existing
        } else if let reused = free.popLast() {
            slot = reused
            entries[slot] = Entry(session: session, capture: capture, isLive: true)
        } else {
            slot = entries.count
            entries.append(Entry(session: session, capture: capture, isLive: true))
        }
        slotOf.insert(slot, forAbsentKey: key)
        return slot
    }

    /// Forgets the session in `slot`; the slot is reused after the current event.
    mutating func remove(_ slot: Int) {
        guard contains(slot) else { return }
        slotOf.removeValue(forKey: read(slot, { $0.key }))
        entries[slot].isLive = false
        entries[slot].capture = nil
        freedDuringEvent.append(slot)
    }

    /// Makes the slots freed during the last event available again.
    mutating func reclaimFreedSlots() {
        guard !freedDuringEvent.isEmpty else { return }
        free.append(contentsOf: freedDuringEvent)
        freedDuringEvent.removeAll(keepingCapacity: true)
    }

    /// The key of the session in `slot`.
    func key(of slot: Int) -> RouteKey { entries[slot].session.key }

    /// The live slots, in slot order.
    var liveSlots: [Int] { entries.indices.filter { contains($0) } }
}
