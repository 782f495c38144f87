/// One flag per session slot, with the number set: the engine asks "is any set?" once per loop
/// turn, and keeps each flag current as its session changes.
struct SlotFlags: Sendable {
    private var flags: [Bool] = []
    private(set) var count = 0

    mutating func set(_ slot: Int, _ value: Bool) {
        if slot >= flags.count {
            guard value else { return }
            flags.append(contentsOf: repeatElement(false, count: slot + 1 - flags.count))
        }
        guard flags[slot] != value else { return }
        flags[slot] = value
        count += value ? 1 : -1
    }

    func contains(_ slot: Int) -> Bool { slot < flags.count && flags[slot] }
}
