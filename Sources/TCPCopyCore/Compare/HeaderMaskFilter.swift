/// Drops the masked header lines of an HTTP-like answer head before the answer is digested,
/// so that answers differing only in, say, `Date:` digest alike.
///
/// A state machine over bytes: it keeps nothing of the answer but the start of the header line
/// being read (at most `nameLimit` bytes, until its `:` names it), so that a line split across
/// segments anywhere is masked all the same. The first line (the status line) is never masked;
/// the head ends at the first empty line, and the body passes untouched. Without masked names
/// it passes everything.
public struct HeaderMaskFilter: Sendable {
    /// The longest header name looked at; a longer one is never masked.
    public static let nameLimit = 64

    private enum State: Sendable, Equatable {
        case firstLine
        case lineStart
        case blankLineCR
        case name
        case passingLine
        case droppingLine
        case body
    }

    /// Lowercased names of the masked header lines.
    public let maskedNames: [[UInt8]]
    private var state: State
    private var name: [UInt8] = []

    /// A filter dropping the header lines named in `maskedHeaders` (any case, no colon).
    public init(maskedHeaders: [String] = []) {
        maskedNames = maskedHeaders.map { Array($0.utf8).map(Self.lowercased) }.filter { !$0.isEmpty }
        state = maskedNames.isEmpty ? .body : .firstLine
        name.reserveCapacity(Self.nameLimit)
    }

    /// Whether any line is masked at all (an identity filter otherwise).
    public var isMasking: Bool { !maskedNames.isEmpty }

    /// Starts over for the next answer.
    public mutating func reset() {
        state = maskedNames.isEmpty ? .body : .firstLine
        name.removeAll(keepingCapacity: true)
    }

    /// Appends to `output` what of `input` remains once the masked lines are dropped.
    public mutating func filter<Bytes: Sequence<UInt8>>(_ input: Bytes, into output: inout [UInt8]) {
        if case .body = state {
            output.append(contentsOf: input)
            return
        }
        let done = input.withContiguousStorageIfAvailable { bytes in
            filter(UnsafeRawBufferPointer(bytes), into: &output)
            return true
        }
        guard done == nil else { return }
        for byte in input { step(byte, into: &output) }
    }

    /// The same over contiguous bytes: the rest of a line passed or dropped is found at once
    /// (most bytes of a head are in lines neither looked at nor masked), not byte by byte.
    private mutating func filter(_ bytes: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .body:
                output.append(contentsOf: bytes[index...])
                return
            case .firstLine, .passingLine, .droppingLine:
                var end = index
                while end < bytes.count, bytes[end] != Self.lf { end += 1 }
                if state != .droppingLine { output.append(contentsOf: bytes[index..<end]) }
                index = end
                if index < bytes.count {
                    step(bytes[index], into: &output)
                    index += 1
                }
            default:
                step(bytes[index], into: &output)
                index += 1
            }
        }
    }

    private mutating func step(_ byte: UInt8, into output: inout [UInt8]) {
        switch state {
        case .body:
            output.append(byte)
        case .firstLine, .passingLine:
            output.append(byte)
            if byte == Self.lf { state = .lineStart }
        case .droppingLine:
            if byte == Self.lf { state = .lineStart }
        case .lineStart:
            if byte == Self.cr {
                state = .blankLineCR
            } else if byte == Self.lf {
                output.append(byte)
                state = .body
            } else {
                name.removeAll(keepingCapacity: true)
                state = .name
                step(byte, into: &output)
            }
        case .blankLineCR:
            output.append(Self.cr)
            if byte == Self.lf {
                output.append(byte)
                state = .body
            } else {
                // A lone CR starts no blank line: the line is an ordinary (odd) header line.
                state = .passingLine
                step(byte, into: &output)
            }
        case .name:
            if byte == Self.colon {
                if isMasked(name) {
                    state = .droppingLine
                } else {
                    output.append(contentsOf: name)
                    output.append(byte)
                    state = .passingLine
                }
            } else if byte == Self.lf || name.count >= Self.nameLimit {
                output.append(contentsOf: name)
                state = .passingLine
                step(byte, into: &output)
            } else {
                name.append(byte)
            }
        }
    }

    private func isMasked(_ name: [UInt8]) -> Bool {
        var end = name.count
        while end > 0, name[end - 1] == 0x20 || name[end - 1] == 0x09 { end -= 1 }
        return maskedNames.contains { masked in
            masked.count == end && zip(masked, name[..<end]).allSatisfy { $0 == Self.lowercased($1) }
        }
    }

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let colon: UInt8 = 0x3A

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }
}
