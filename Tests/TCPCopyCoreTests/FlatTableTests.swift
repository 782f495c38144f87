import Testing

@testable import TCPCopyCore

@Suite struct FlatTableTests {
    /// Random insertions, replacements and removals, checked against a Dictionary after each.
    /// With `multiplier` 1 every small key has bucket 0: every entry sits in one long run, which
    /// exercises probing, wrapping round the end and the removal's backward shift.
    @Test(arguments: [UInt64(1), FlatTableSeed.multiplier])
    func behavesLikeADictionary(multiplier: UInt64) {
        var random = SeededGenerator(seed: multiplier)
        var table = FlatTable<UInt64, Int>(placeholder: -1, multiplier: multiplier)
        var reference: [UInt64: Int] = [:]
        for step in 0..<4000 {
            let key = UInt64.random(in: 0..<300, using: &random)
            if Bool.random(using: &random) || reference.count < 20 {
                table.updateValue(step, forKey: key)
                reference[key] = step
            } else {
                table.removeValue(forKey: key)
                reference[key] = nil
            }
            #expect(table.count == reference.count)
            #expect(table.capacity * 3 >= 4 * table.count)
        }
        for key in UInt64(0)..<300 {
            #expect(table[key] == reference[key], "key \(key)")
        }
        #expect(Set(table.keys) == Set(reference.keys))
    }

    @Test func valuesChangeInPlaceAndEmptyTablesFindNothing() {
        var table = FlatTable<Int, SlotList>(placeholder: SlotList())
        #expect(table.isEmpty && table.index(forKey: 5) == nil)
        var slots = SlotList()
        slots.append(1)
        table.updateValue(slots, forKey: 5)
        let bucket = try! #require(table.index(forKey: 5))
        let emptied = table.modifyValue(at: bucket) { list -> Bool in
            list.append(2)
            list.remove(1)
            return list.isEmpty
        }
        #expect(!emptied)
        #expect(Array(table.value(at: bucket)) == [2])
        table.remove(at: bucket)
        #expect(table.isEmpty && table[5] == nil)
    }
}
