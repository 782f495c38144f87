import Testing

@testable import TCPCopyCore

@Suite struct FlatTableTests {
    /// Random insertions, replacements and removals, checked against a Dictionary after each.
    /// With `finisher` 0 every key has bucket 0: every entry sits in one long run, which
    /// exercises probing, wrapping round the end and the removal's backward shift.
    @Test(arguments: [UInt64(0), FlatTableSeed.finisher])
    func behavesLikeADictionary(finisher: UInt64) {
        var random = SeededGenerator(seed: finisher)
        var table = FlatTable<UInt64, Int>(placeholder: -1, finisher: finisher)
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

    /// Keys are mostly runs of consecutive client ports. Multiplying alone spreads such a run
    /// well for most multipliers but piles it into a few dense clusters for some: a multiplier
    /// near a third of 2⁶⁴ sends the run to three places. The fold and second multiply keep every
    /// multiplier's table near random hashing's displacement (about 1.5 at three quarters full).
    @Test(arguments: [
        0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAB, 0x4000_0000_0000_0001, 0x9E37_79B9_7F4A_7C15,
        FlatTableSeed.multiplier,
    ] as [UInt64])
    func runsOfConsecutivePortsStaySpreadWhateverTheMultiplier(multiplier: UInt64) {
        var table = FlatTable<CaptureKey, Int>(placeholder: -1, multiplier: multiplier)
        let online = IPv4Address(10, 0, 0, 1)
        for client in [IPv4Address(192, 168, 7, 3), IPv4Address(192, 168, 7, 4)] {
            for port in UInt16(20_000)..<30_000 {
                let key = CaptureKey(clientAddress: .v4(client), clientPort: port, onlineAddress: .v4(online), onlinePort: 80)
                table.insert(Int(port), forAbsentKey: key)
            }
        }
        #expect(table.count == 20_000)
        #expect(table.meanDisplacement < 2.5, "mean displacement \(table.meanDisplacement)")
    }
}
