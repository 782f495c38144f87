/// A key of a `FlatTable`: equality, and one 64-bit word that tells keys apart (see `hashWord`).
protocol FlatTableKey: Equatable, Sendable {
    var word: UInt64 { get }
}

/// The hash table of the engine's per-packet look-ups (a captured packet's connection, a
/// response's session): open addressing with linear probing, at most half full.
///
/// Swift's `Dictionary` runs SipHash over every key, seeding, combining and finalising, and that
/// was a sixth of the engine's instructions per packet. Here a key's word is multiplied by an
/// odd constant chosen at random per process and the top bits of the product pick the bucket
/// (multiply-shift hashing): a few instructions, and since the constant is secret, clients
/// cannot choose addresses and ports that pile up in one bucket on purpose.
///
/// Keys and values live in separate arrays, so that probing reads keys only and finding a key
/// never copies (retains) a value. A removal shifts the entries after it back (no tombstones):
/// a table that sees a million short connections keeps its probe sequences short.
struct FlatTable<Key: FlatTableKey, Value: Sendable>: Sendable {
    private var storedKeys: [Key?]
    private var values: [Value?]
    /// 64 − log₂(capacity): the product's top bits are the bucket.
    private var shift: UInt64
    private let multiplier: UInt64
    private(set) var count = 0

    /// An empty table. `multiplier` is for tests that need a fixed layout; it is made odd.
    init(multiplier: UInt64 = FlatTableSeed.multiplier) {
        self.multiplier = multiplier | 1
        storedKeys = Array(repeating: nil, count: Self.initialCapacity)
        values = Array(repeating: nil, count: Self.initialCapacity)
        shift = UInt64(64 - Self.initialCapacity.trailingZeroBitCount)
    }

    static var initialCapacity: Int { 16 }

    var isEmpty: Bool { count == 0 }

    /// Buckets allocated (a power of two, at least twice `count`).
    var capacity: Int { storedKeys.count }

    @inline(__always)
    private func home(of key: Key) -> Int {
        Int(truncatingIfNeeded: (key.word &* multiplier) >> shift)
    }

    /// The bucket holding `key`, if the table has it. Valid until the next insertion or removal.
    func index(forKey key: Key) -> Int? {
        guard count > 0 else { return nil }
        return storedKeys.withUnsafeBufferPointer { keys in
            let mask = keys.count - 1
            var bucket = home(of: key)
            while let stored = keys[bucket] {
                if stored == key { return bucket }
                bucket = (bucket + 1) & mask
            }
            return nil
        }
    }

    subscript(key: Key) -> Value? {
        guard let bucket = index(forKey: key) else { return nil }
        return values[bucket]
    }

    /// The value in `bucket`, which `index(forKey:)` returned.
    func value(at bucket: Int) -> Value { values[bucket]! }

    /// Changes the value in `bucket` in place (no copy of it is made, so an array in it is not
    /// copied on write).
    mutating func modifyValue<Result>(at bucket: Int, _ body: (inout Value) -> Result) -> Result {
        values.withUnsafeMutableBufferPointer { values in
            precondition(values[bucket] != nil, "no entry in bucket \(bucket)")
            return body(&values[bucket]!)
        }
    }

    /// Stores `value` under `key`, replacing the value it had.
    mutating func updateValue(_ value: Value, forKey key: Key) {
        if let bucket = index(forKey: key) {
            values[bucket] = value
            return
        }
        if (count + 1) * 2 > storedKeys.count { grow() }
        insertNew(key, value)
    }

    /// Removes the entry in `bucket`, which `index(forKey:)` returned.
    mutating func remove(at bucket: Int) {
        precondition(storedKeys[bucket] != nil, "no entry in bucket \(bucket)")
        let mask = storedKeys.count - 1
        var hole = bucket
        var next = (bucket + 1) & mask
        // Each later entry of the run moves into the hole if the hole lies on its probe path,
        // that is, between its home bucket and where it sits; the hole then moves to it.
        while let key = storedKeys[next] {
            if (next &- home(of: key)) & mask >= (next &- hole) & mask {
                storedKeys[hole] = key
                values.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
        storedKeys[hole] = nil
        values[hole] = nil
        count -= 1
    }

    /// Every key, in no particular order (a copy: the table may change while it is walked).
    var keys: [Key] { storedKeys.compactMap { $0 } }

    /// Removes every entry for which `shouldRemove` holds. Returns how many it removed.
    @discardableResult
    mutating func removeAll(where shouldRemove: (Key, Value) -> Bool) -> Int {
        var doomed: [Key] = []
        for bucket in storedKeys.indices {
            if let key = storedKeys[bucket], shouldRemove(key, values[bucket]!) { doomed.append(key) }
        }
        for key in doomed { removeValue(forKey: key) }
        return doomed.count
    }

    /// Removes `key`'s entry, if there is one.
    mutating func removeValue(forKey key: Key) {
        if let bucket = index(forKey: key) { remove(at: bucket) }
    }

    private mutating func insertNew(_ key: Key, _ value: Value) {
        let mask = storedKeys.count - 1
        var bucket = home(of: key)
        while storedKeys[bucket] != nil { bucket = (bucket + 1) & mask }
        storedKeys[bucket] = key
        values[bucket] = value
        count += 1
    }

    private mutating func grow() {
        let oldKeys = storedKeys
        var oldValues = values
        let capacity = storedKeys.count * 2
        storedKeys = Array(repeating: nil, count: capacity)
        values = Array(repeating: nil, count: capacity)
        shift -= 1
        count = 0
        for bucket in oldKeys.indices {
            guard let key = oldKeys[bucket] else { continue }
            insertNew(key, oldValues[bucket].take()!)
        }
    }
}

extension UInt64: FlatTableKey {
    var word: UInt64 { self }
}

extension Int: FlatTableKey {
    var word: UInt64 { UInt64(UInt(bitPattern: self)) }
}

/// The per-process multiplier of every `FlatTable`. Taken from the standard library's hasher,
/// which is seeded at random per process (and fixed when SWIFT_DETERMINISTIC_HASHING is set),
/// so that the pure core needs no random source of its own.
enum FlatTableSeed {
    static let multiplier: UInt64 = {
        var hasher = Hasher()
        hasher.combine(0x7463_7063_6F70_79 as UInt64)
        return UInt64(UInt(bitPattern: hasher.finalize())) | 1
    }()
}
