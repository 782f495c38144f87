/// The session slots one captured connection fans out to. Nearly always one (one route, one
/// copy), which is kept inline: starting and ending a session then allocates nothing here.
/// Further slots (`-n`, several routes, reopened sessions) go to an array.
struct SlotList: RandomAccessCollection, Sendable, Equatable {
    private var first = -1
    private var rest: [Int] = []

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { first < 0 ? 0 : 1 + rest.count }

    subscript(position: Int) -> Int {
        precondition(position >= 0 && position < endIndex, "slot index out of range")
        return position == 0 ? first : rest[position - 1]
    }

    mutating func append(_ slot: Int) {
        precondition(slot >= 0, "slots are non-negative")
        if first < 0 { first = slot } else { rest.append(slot) }
    }

    /// Removes every occurrence of `slot`, keeping the others in order.
    mutating func remove(_ slot: Int) {
        if !rest.isEmpty { rest.removeAll { $0 == slot } }
        if first == slot {
            first = rest.isEmpty ? -1 : rest.removeFirst()
        }
    }
}
