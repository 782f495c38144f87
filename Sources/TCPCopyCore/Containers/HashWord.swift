/// The word a connection is found by in the engine's and intercept's tables (`FlatTable`).
///
/// The word is `a·2³² + portA·2¹⁶ + portB`, XORed with `b` times an odd constant: for a fixed
/// `b` and `portB` (a target, an online address) it tells every `a:portA` (a client) apart, so
/// that only fields the operator chose can ever make two keys share a word. The table's secret
/// multiplier then spreads the words over its buckets.
@inline(__always)
func hashWord(_ a: IPv4Address, _ portA: UInt16, _ b: IPv4Address, _ portB: UInt16) -> UInt64 {
    (UInt64(a.value) << 32 | UInt64(portA) << 16 | UInt64(portB)) ^ (UInt64(b.value) &* 0x9E37_79B9_7F4A_7C15)
}

/// The word of a key of either family. IPv4 keeps the word above. An IPv6 client chooses 64
/// bits of its address or more, so no folding of it to 32 bits could keep clients apart against
/// a peer that picks colliding addresses; its word comes from the standard library's seeded
/// hash instead, which a peer cannot predict. Collisions cost a probe, never a confusion: the
/// tables compare whole keys.
@inline(__always)
func hashWord(_ a: IPAddress, _ portA: UInt16, _ b: IPAddress, _ portB: UInt16) -> UInt64 {
    if case .v4(let a4) = a, case .v4(let b4) = b { return hashWord(a4, portA, b4, portB) }
    return seededHashWord(a, portA, b, portB)
}

/// IPv6's word, out of line: inlined, `Hasher`'s code kept the keys' `word` getters from being
/// inlined into the tables' look-ups, which every IPv4 packet then paid a call for.
@inline(never)
private func seededHashWord(_ a: IPAddress, _ portA: UInt16, _ b: IPAddress, _ portB: UInt16) -> UInt64 {
    var hasher = Hasher()
    hasher.combine(a)
    hasher.combine(portA)
    hasher.combine(b)
    hasher.combine(portB)
    return UInt64(UInt(bitPattern: hasher.finalize()))
}
