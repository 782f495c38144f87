/// When each session next needs its timers looked at, in a binary heap, so that a tick touches
/// only the sessions whose time has come, however many are open.
///
/// A key has at most one live deadline. Moving it earlier pushes a new entry; moving it later
/// is ignored: the earlier entry fires, the session finds nothing due and reschedules. This keeps
/// the heap from growing by one entry per packet (every packet moves the idle deadline later).
struct DeadlineQueue<Key: Hashable & Sendable>: Sendable {
    private var heap: [(time: MonotonicTime, key: Key)] = []
    private var scheduled: [Key: MonotonicTime] = [:]

    var count: Int { scheduled.count }

    /// Asks for `key` to be due at `time`, unless it is already due earlier.
    mutating func schedule(_ key: Key, at time: MonotonicTime) {
        if let current = scheduled[key], current <= time { return }
        scheduled[key] = time
        heap.append((time, key))
        siftUp(heap.count - 1)
    }

    mutating func cancel(_ key: Key) { scheduled[key] = nil }

    /// The keys due at `now`, each once, in deadline order; they are no longer scheduled.
    mutating func popDue(now: MonotonicTime) -> [Key] {
        var due: [Key] = []
        while let top = heap.first, top.time <= now {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
            // An entry superseded by an earlier one, or cancelled, is stale.
            if scheduled[top.key] == top.time {
                scheduled[top.key] = nil
                due.append(top.key)
            }
        }
        if heap.count > 64 && heap.count > 4 * scheduled.count { rebuild() }
        return due
    }

    /// The earliest deadline, if any (some may be stale: a hint for how long to sleep).
    var earliest: MonotonicTime? { heap.first?.time }

    private mutating func rebuild() {
        heap = scheduled.map { ($0.value, $0.key) }
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
struct ExpiryQueue<Key: Hashable & Sendable>: Sendable {
    let lifetime: Int64
    private var entries: [(key: Key, added: MonotonicTime)] = []
    private var head = 0
    private(set) var added: [Key: MonotonicTime] = [:]

    init(lifetimeMilliseconds: Int64) { lifetime = lifetimeMilliseconds }

    var count: Int { added.count }

    func contains(_ key: Key) -> Bool { added[key] != nil }

    /// Adds (or renews) `key` at `now`; times must not go backwards.
    mutating func insert(_ key: Key, now: MonotonicTime) {
        added[key] = now
        entries.append((key, now))
    }

    mutating func remove(_ key: Key) { added[key] = nil }

    /// The keys whose lifetime ended by `now`.
    mutating func popExpired(now: MonotonicTime) -> [Key] {
        var expired: [Key] = []
        while head < entries.count, now - entries[head].added >= lifetime {
            let entry = entries[head]
            head += 1
            if added[entry.key] == entry.added {
                added[entry.key] = nil
                expired.append(entry.key)
            }
        }
        if head > 1024 && head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return expired
    }
}
