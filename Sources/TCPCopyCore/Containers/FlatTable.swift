/// A key of a `FlatTable`: equality, one 64-bit word that tells keys apart (see `hashWord`),
/// and a value for empty buckets to hold.
protocol FlatTableKey: Equatable, Sendable {
    var word: UInt64 { get }
    static var placeholder: Self { get }
}

/// The hash table of the engine's per-packet look-ups (a captured packet's connection, a
/// response's session, intercept's routes): open addressing with linear probing, at most three
/// quarters full.
///
/// Swift's `Dictionary` runs SipHash over every key, seeding, combining and finalising, a large
/// share of the engine's per-packet work (docs/performance-history.md). Here a key's word is
/// multiplied by an odd constant chosen at random per process, its high half folded into its
/// low half, and multiplied again; the top bits of the result pick the bucket. A handful of
/// instructions, and since the first constant is secret, clients cannot choose addresses and
/// ports that pile up in one bucket on purpose. The fold and second multiply matter for linear probing: keys are
/// mostly runs of consecutive ports, and one multiply alone spreads such a run evenly for most
/// constants but into a few dense clusters for some (those near a fraction with a small
/// denominator), and the cost of a removal from the expiry queues then depended on the
/// process's luck (docs/performance-history.md).
///
/// Each bucket has a control byte (0 when empty, else seven more bits of the product), so a
/// probe reads keys only where the byte matches: a look-up of an absent key (most of them, for
/// the expiry queues) touches one cache line of control bytes and nothing else. Keys and values
/// sit in their own arrays, empty buckets holding placeholders, so that a bucket costs what a
/// `Dictionary`'s does (no optional's tag, padded to the next word). A removal shifts the
/// entries after it back (no tombstones): a table that sees a million short connections keeps
/// its probe sequences short.
struct FlatTable<Key: FlatTableKey, Value: Sendable>: Sendable {
    private var control: [UInt8]
    private var storedKeys: [Key]
    private var values: [Value]
    /// What an empty bucket's value is.
    private let placeholder: Value
    /// 64 − log₂(capacity): the product's top bits are the bucket.
    private var shift: UInt64
    private let multiplier: UInt64
    private let finisher: UInt64
    private(set) var count = 0

    /// An empty table; `placeholder` fills empty buckets' values. `multiplier` and `finisher`
    /// are for tests that need a fixed layout: `multiplier` is made odd; `finisher` 0 sends every
    /// key to bucket 0.
    init(
        placeholder: Value, multiplier: UInt64 = FlatTableSeed.multiplier,
        finisher: UInt64 = FlatTableSeed.finisher
    ) {
        self.placeholder = placeholder
        self.multiplier = multiplier | 1
        self.finisher = finisher
        control = Array(repeating: 0, count: Self.initialCapacity)
        storedKeys = Array(repeating: .placeholder, count: Self.initialCapacity)
        values = Array(repeating: placeholder, count: Self.initialCapacity)
        shift = UInt64(64 - Self.initialCapacity.trailingZeroBitCount)
    }

    static var initialCapacity: Int { 16 }

    var isEmpty: Bool { count == 0 }

    /// Buckets allocated (a power of two; at most three quarters are used).
    var capacity: Int { control.count }

    /// The bucket a key's probe starts at, and its control byte.
    @inline(__always)
    private func hash(of key: Key) -> (home: Int, tag: UInt8) {
        var product = key.word &* multiplier
        product = (product ^ product >> 32) &* finisher
        return (Int(truncatingIfNeeded: product >> shift), UInt8(truncatingIfNeeded: product >> (shift - 7)) | 0x80)
    }

    /// How far entries sit past their home buckets, on average: what a look-up of a present key
    /// probes beyond its first bucket. Random hashing at three quarters full gives about 1.5.
    var meanDisplacement: Double {
        guard count > 0 else { return 0 }
        let mask = control.count - 1
        let total = control.indices.reduce(0) { sum, bucket in
            control[bucket] == 0 ? sum : sum + ((bucket &- hash(of: storedKeys[bucket]).home) & mask)
        }
        return Double(total) / Double(count)
    }

    /// The bucket holding `key`, if the table has it. Valid until the next insertion or removal.
    func index(forKey key: Key) -> Int? {
        guard count > 0 else { return nil }
        let (home, tag) = hash(of: key)
        return control.withUnsafeBufferPointer { control in
            storedKeys.withUnsafeBufferPointer { keys in
                let mask = control.count - 1
                var bucket = home
                while true {
                    let byte = control[bucket]
                    if byte == 0 { return nil }
                    if byte == tag && keys[bucket] == key { return bucket }
                    bucket = (bucket + 1) & mask
                }
            }
        }
    }

    subscript(key: Key) -> Value? {
        guard let bucket = index(forKey: key) else { return nil }
        return values[bucket]
    }

    /// The value in `bucket`, which `index(forKey:)` returned.
    func value(at bucket: Int) -> Value { values[bucket] }

    /// Changes the value in `bucket` in place (no copy of it is made, so an array in it is not
    /// copied on write).
    mutating func modifyValue<Result>(at bucket: Int, _ body: (inout Value) -> Result) -> Result {
        precondition(control[bucket] != 0, "no entry in bucket \(bucket)")
        return values.withUnsafeMutableBufferPointer { body(&$0[bucket]) }
    }

    /// Stores `value` under `key`, replacing the value it had.
    mutating func updateValue(_ value: Value, forKey key: Key) {
        if let bucket = index(forKey: key) {
            values[bucket] = value
        } else {
            insert(value, forAbsentKey: key)
        }
    }

    /// Stores `value` under `key`, which the caller has just looked up and not found: saves
    /// `updateValue` its second search.
    mutating func insert(_ value: Value, forAbsentKey key: Key) {
        if (count + 1) * 4 > control.count * 3 { grow() }
        insertNew(key, value)
    }

    /// Removes the entry in `bucket`, which `index(forKey:)` returned.
    mutating func remove(at bucket: Int) {
        precondition(control[bucket] != 0, "no entry in bucket \(bucket)")
        let mask = control.count - 1
        var hole = bucket
        var next = (bucket + 1) & mask
        // Each later entry of the run moves into the hole if the hole lies on its probe path,
        // that is, between its home bucket and where it sits; the hole then moves to it.
        while control[next] != 0 {
            if (next &- hash(of: storedKeys[next]).home) & mask >= (next &- hole) & mask {
                control[hole] = control[next]
                storedKeys[hole] = storedKeys[next]
                values.swapAt(hole, next)
                hole = next
            }
            next = (next + 1) & mask
        }
        control[hole] = 0
        storedKeys[hole] = .placeholder
        values[hole] = placeholder
        count -= 1
    }

    /// Every key, in no particular order (a copy: the table may change while it is walked).
    var keys: [Key] { control.indices.filter { control[$0] != 0 }.map { storedKeys[$0] } }

    /// Removes every entry for which `shouldRemove` holds. Returns how many it removed.
    @discardableResult
    mutating func removeAll(where shouldRemove: (Key, Value) -> Bool) -> Int {
        let doomed = control.indices.filter { control[$0] != 0 && shouldRemove(storedKeys[$0], values[$0]) }
            .map { storedKeys[$0] }
        for key in doomed { removeValue(forKey: key) }
        return doomed.count
    }

    /// Removes `key`'s entry, if there is one.
    mutating func removeValue(forKey key: Key) {
        if let bucket = index(forKey: key) { remove(at: bucket) }
    }

    private mutating func insertNew(_ key: Key, _ value: Value) {
        let (home, tag) = hash(of: key)
        let mask = control.count - 1
        var bucket = home
        while control[bucket] != 0 { bucket = (bucket + 1) & mask }
        control[bucket] = tag
        storedKeys[bucket] = key
        values[bucket] = value
        count += 1
    }

    private mutating func grow() {
        let oldControl = control
        let oldKeys = storedKeys
        let oldValues = values
        let capacity = control.count * 2
        control = Array(repeating: 0, count: capacity)
        storedKeys = Array(repeating: .placeholder, count: capacity)
        values = Array(repeating: placeholder, count: capacity)
        shift -= 1
        count = 0
        for bucket in oldControl.indices where oldControl[bucket] != 0 {
            insertNew(oldKeys[bucket], oldValues[bucket])
        }
    }
}

extension UInt64: FlatTableKey {
    var word: UInt64 { self }
    static var placeholder: UInt64 { 0 }
}

extension Int: FlatTableKey {
    var word: UInt64 { UInt64(UInt(bitPattern: self)) }
    static var placeholder: Int { 0 }
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
    /// The second multiply's constant, after the fold: odd, bits well mixed (SplitMix64's).
    /// Need not be secret: the first constant already is.
    static let finisher: UInt64 = 0xBF58_476D_1CE4_E5B9
}
