import Testing

@testable import TCPCopyCore

@Suite struct FlatDictionaryTests {
    /// Reads, sets, changes in place, removes by key and by bucket, as `Dictionary` does,
    /// against a `Dictionary` fed the same operations.
    @Test func behavesAsADictionary() {
        var flat = FlatDictionary<UInt64, [Int]>()
        var reference: [UInt64: [Int]] = [:]
        var generator = SplitMix64(seed: 7)
        for step in 0..<5_000 {
            let key = generator.next() % 300
            switch generator.next() % 5 {
            case 0:
                flat[key] = [step]
                reference[key] = [step]
            case 1:
                flat[key]?.append(step)
                reference[key]?.append(step)
            case 2:
                #expect(flat.removeValue(forKey: key) == reference.removeValue(forKey: key))
            case 3:
                if let slot = flat.index(forKey: key) {
                    flat[slot: slot].append(-step)
                    reference[key]!.append(-step)
                } else {
                    #expect(reference[key] == nil)
                }
            default:
                flat[key] = nil
                reference[key] = nil
            }
            #expect(flat[key] == reference[key])
        }
        #expect(flat.count == reference.count)
        #expect(Set(flat.keys) == Set(reference.keys))
        for (key, value) in reference { #expect(flat[key] == value) }
    }
}

/// A small seeded generator, so that the test's operations are the same on every run.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
