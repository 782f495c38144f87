/// When each session next needs its timers looked at, in a binary heap, so that a tick touches
/// only the sessions whose time has come, however many are open.
///
/// Sessions are named by their slot in the engine's `SessionTable` (small non-negative
/// integers), so a slot's current deadline is an array element: scheduling, cancelling and
/// checking an entry cost no hashing and, once the arrays have grown, no allocation.
///
/// A slot has at most one live deadline. Moving it earlier pushes a new entry; moving it later
/// is ignored: the earlier entry fires, the session finds nothing due and reschedules. This keeps
/// the heap from growing by one entry per packet (every packet moves the idle deadline later).
struct DeadlineQueue: Sendable {
    private var heap: [(time: MonotonicTime, slot: Int)] = []
    /// The live deadline of each slot; nil when none is scheduled.
    private var scheduled: [MonotonicTime?] = []
    private(set) var count = 0

    /// Asks for `slot` to be due at `time`, unless it is already due earlier.
    mutating func schedule(_ slot: Int, at time: MonotonicTime) {
        if slot >= scheduled.count {
            scheduled.append(contentsOf: repeatElement(nil, count: slot + 1 - scheduled.count))
        }
        if let current = scheduled[slot] {
            if current <= time { return }
        } else {
            count += 1
        }
        scheduled[slot] = time
        heap.append((time, slot))
        siftUp(heap.count - 1)
    }

    mutating func cancel(_ slot: Int) {
        guard slot < scheduled.count, scheduled[slot] != nil else { return }
        scheduled[slot] = nil
        count -= 1
    }

    /// Appends the slots due at `now` to `due`, each once, in deadline order; they are no longer
    /// scheduled. The caller keeps `due` and its capacity from tick to tick.
    mutating func popDue(now: MonotonicTime, into due: inout [Int]) {
        while let top = heap.first, top.time <= now {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
            // An entry superseded by an earlier one, or cancelled, is stale.
            if scheduled[top.slot] == top.time {
                scheduled[top.slot] = nil
                count -= 1
                due.append(top.slot)
            }
        }
        if heap.count > 64 && heap.count > 4 * count { rebuild() }
    }

    /// The slots due at `now` (see `popDue(now:into:)`).
    mutating func popDue(now: MonotonicTime) -> [Int] {
        var due: [Int] = []
        popDue(now: now, into: &due)
        return due
    }

    /// The earliest deadline, if any (some may be stale: a hint for how long to sleep).
    var earliest: MonotonicTime? { heap.first?.time }

    /// Drops the stale entries, in place.
    private mutating func rebuild() {
        heap.removeAll(keepingCapacity: true)
        for (slot, time) in scheduled.enumerated() {
            if let time { heap.append((time, slot)) }
        }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].time < heap[parent].time else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].time < heap[left].time { smallest = left + 1 }
            guard heap[smallest].time < heap[parent].time else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}

/// Keys that expire a fixed time after they were added, oldest first: expiry is a pop from the
/// front, never a scan of everything.
struct ExpiryQueue<Key: FlatTableKey>: Sendable {
    let lifetime: Int64
    private var entries = FrontQueue<(key: Key, added: MonotonicTime)>()
    private(set) var added = FlatTable<Key, MonotonicTime>(placeholder: MonotonicTime(milliseconds: 0))

    init(lifetimeMilliseconds: Int64) { lifetime = lifetimeMilliseconds }

    var count: Int { added.count }

    func contains(_ key: Key) -> Bool { added.index(forKey: key) != nil }

    /// Adds (or renews) `key` at `now`; times must not go backwards.
    mutating func insert(_ key: Key, now: MonotonicTime) {
        added.updateValue(now, forKey: key)
        entries.append((key, now))
    }

    mutating func remove(_ key: Key) {
        added.removeValue(forKey: key)
    }

    /// Hands each key whose lifetime ended by `now` to `body`, and forgets it.
    mutating func popExpired(now: MonotonicTime, _ body: (Key) -> Void) {
        while let entry = entries.first, now - entry.added >= lifetime {
            entries.removeFirst()
            if let index = added.index(forKey: entry.key), added.value(at: index) == entry.added {
                added.remove(at: index)
                body(entry.key)
            }
        }
    }

    /// The keys whose lifetime ended by `now` (see `popExpired(now:_:)`).
    mutating func popExpired(now: MonotonicTime) -> [Key] {
        var expired: [Key] = []
        popExpired(now: now) { expired.append($0) }
        return expired
    }
}
