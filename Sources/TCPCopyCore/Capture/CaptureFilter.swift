/// The classic BPF program tcpcopy attaches to its capture socket, so that the kernel hands it
/// only the packets it copies.
///
/// An AF_INET raw socket for TCP receives every TCP packet the host is delivered: besides the
/// service's traffic, the responses intercept sends over the control connection (about a third
/// of all packets at 3,000 short requests per second) and whatever else the host talks. Each one
/// costs a copy to user space and a parse. The filter keeps TCP packets whose destination port
/// is one of the routes' online ports, and non-first fragments never (they carry no ports; the
/// engine could not use them either).
///
/// Of the service's packets it also leaves out the client's bare acknowledgments: ACK set, no
/// SYN, FIN or RST, no payload. The session emulation acknowledges the target's data itself and
/// learns all it needs of the client from its data, SYN, FIN and RST (the acknowledgment that
/// gates a request rides on the request). In a short HTTP connection two of the client's five
/// packets are bare ACKs (the handshake's, and the one for the answer), so this spares tcpcopy
/// two in five reads and parses.
///
/// The program reads the packet from its IP header, as a raw socket sees it.
public struct CaptureFilter: Equatable, Sendable {
    /// One classic BPF instruction (`struct sock_filter`).
    public struct Instruction: Equatable, Sendable {
        public var code: UInt16
        public var jumpIfTrue: UInt8
        public var jumpIfFalse: UInt8
        public var constant: UInt32

        /// The four fields in one word, the form the I/O layer hands to its C shim:
        /// code << 48 | jt << 40 | jf << 32 | k.
        public var packed: UInt64 {
            UInt64(code) << 48 | UInt64(jumpIfTrue) << 40 | UInt64(jumpIfFalse) << 32 | UInt64(constant)
        }
    }

    /// Instruction codes (linux/filter.h, linux/bpf_common.h).
    enum Code {
        static let loadHalfAbsolute: UInt16 = 0x28  // ldh [k]
        static let loadHalfIndexed: UInt16 = 0x48  // ldh [x + k]
        static let loadByteIndexed: UInt16 = 0x50  // ldb [x + k]
        static let loadIPHeaderLength: UInt16 = 0xb1  // ldxb 4 * ([k] & 0xf)
        static let andConstant: UInt16 = 0x54  // and #k
        static let shiftRightConstant: UInt16 = 0x74  // rsh #k
        static let addIndex: UInt16 = 0x0c  // add x
        static let copyToIndex: UInt16 = 0x07  // tax
        static let jumpIfEqual: UInt16 = 0x15  // jeq #k
        static let jumpIfEqualIndex: UInt16 = 0x1d  // jeq x
        static let jumpIfAnyBit: UInt16 = 0x45  // jset #k
        static let returnConstant: UInt16 = 0x06  // ret #k
    }

    /// TCP flag bits: FIN, SYN, RST and ACK, and ACK alone.
    static let flagsThatMatter: UInt32 = 0x17
    static let bareAcknowledgment: UInt32 = 0x10

    /// The kernel keeps this many bytes of an accepted packet: all of it (an IPv4 packet, even a
    /// GRO aggregate, is at most 65535 bytes; the kernel clamps to the packet's length).
    static let acceptAll: UInt32 = 0x40000

    public let instructions: [Instruction]

    /// A filter for these destination ports, or nil when there are too many for one program's
    /// 8-bit jump offsets; tcpcopy then captures unfiltered, as it would without BPF.
    public init?(destinationPorts: some Sequence<UInt16>) {
        var ports: [UInt16] = []
        for port in destinationPorts where !ports.contains(port) { ports.append(port) }
        guard !ports.isEmpty, ports.count <= 200 else { return nil }
        let n = ports.count
        // Layout: 0 load the fragment field, 1 fragment test, 2 IP header length, 3 port load,
        // 4..<4+n port tests, 4+n reject; from 5+n the bare-ACK test, ending in keep and drop.
        // Jumps count from the next instruction, and only forward.
        let reject = 4 + n
        let bareAckTest = 5 + n
        func op(_ code: UInt16, _ constant: UInt32 = 0, ifTrue: Int = 0, ifFalse: Int = 0) -> Instruction {
            Instruction(code: code, jumpIfTrue: UInt8(ifTrue), jumpIfFalse: UInt8(ifFalse), constant: constant)
        }
        var program: [Instruction] = [
            op(Code.loadHalfAbsolute, 6),
            // Fragment offset bits set: a later fragment, without a TCP header.
            op(Code.jumpIfAnyBit, 0x1fff, ifTrue: reject - 2),
            op(Code.loadIPHeaderLength),
            op(Code.loadHalfIndexed, 2),
        ]
        for (index, port) in ports.enumerated() {
            program.append(op(Code.jumpIfEqual, UInt32(port), ifTrue: bareAckTest - (4 + index + 1)))
        }
        program.append(op(Code.returnConstant, 0))
        // X still holds the IP header length. A bare ACK: of FIN, SYN, RST and ACK only ACK set,
        // and the IP total length that of the two headers (IP + 4 × data offset).
        let keep = bareAckTest + 10
        let drop = keep + 1
        program += [
            op(Code.loadByteIndexed, 13),
            op(Code.andConstant, Self.flagsThatMatter),
            op(Code.jumpIfEqual, Self.bareAcknowledgment, ifFalse: keep - (bareAckTest + 3)),
            op(Code.loadByteIndexed, 12),
            op(Code.shiftRightConstant, 2),
            op(Code.andConstant, 0x3c),
            op(Code.addIndex),
            op(Code.copyToIndex),
            op(Code.loadHalfAbsolute, 2),
            op(Code.jumpIfEqualIndex, ifTrue: drop - keep),
            op(Code.returnConstant, Self.acceptAll),  // keep
            op(Code.returnConstant, 0),  // drop
        ]
        instructions = program
    }

    /// The filter for a configuration's routes.
    public init?(routes: [CopyRoute]) {
        self.init(destinationPorts: routes.map(\.onlinePort))
    }
}
