/// A `FlatTable` used as a `Dictionary` is (a subscript by key that reads, sets, removes and
/// changes in place), for the compare tracker's per-packet look-ups: no SipHash per look-up.
/// A value changed through either subscript is taken out of its bucket while it changes, so
/// that its arrays are not copied on write.
struct FlatDictionary<Key: FlatTableKey, Value: Sendable>: Sendable {
    private var table = FlatTable<Key, Value?>(placeholder: nil)

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }
    var keys: [Key] { table.keys }

    /// The bucket holding `key`, for `subscript(slot:)`: valid until the next insertion or
    /// removal.
    func index(forKey key: Key) -> Int? { table.index(forKey: key) }

    subscript(slot slot: Int) -> Value {
        get { table.value(at: slot)! }
        _modify {
            var value = table.modifyValue(at: slot) { stored in
                defer { stored = nil }
                return stored!
            }
            defer { table.modifyValue(at: slot) { $0 = value } }
            yield &value
        }
    }

    subscript(key: Key) -> Value? {
        get { table.index(forKey: key).map { table.value(at: $0)! } }
        _modify {
            if let slot = table.index(forKey: key) {
                var value = table.modifyValue(at: slot) { stored in
                    defer { stored = nil }
                    return stored
                }
                defer {
                    if let value { table.modifyValue(at: slot) { $0 = value } } else { table.remove(at: slot) }
                }
                yield &value
            } else {
                var value: Value? = nil
                defer { if let value { table.insert(value, forAbsentKey: key) } }
                yield &value
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard let slot = table.index(forKey: key) else { return nil }
        let value = table.value(at: slot)
        table.remove(at: slot)
        return value
    }
}
