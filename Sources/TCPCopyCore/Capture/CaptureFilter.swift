/// The classic BPF program tcpcopy attaches to its capture socket, so that the kernel hands it
/// only the packets it copies.
///
/// An AF_INET raw socket for TCP receives every TCP packet the host is delivered: besides the
/// service's traffic, the responses intercept sends over the control connection (a large share
/// of all packets: docs/performance-history.md) and whatever else the host talks. Each one
/// costs a copy to user space and a parse. The filter keeps TCP packets whose destination port
/// is one of the routes' online ports, and non-first fragments never (they carry no ports; the
/// engine could not use them either).
///
/// The client's bare ACKs stay, although two of a short HTTP connection's five packets are bare
/// ACKs and leaving them in the kernel cut tcpcopy's CPU by about a tenth. The handshake's ACK
/// carries the online server's initial sequence number: the request gate's baseline, without
/// which a protocol where the server speaks first (SMTP, MySQL) has its first command sent before
/// the target's greeting. A stateless filter cannot tell that ACK from the others.
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
        static let loadIPHeaderLength: UInt16 = 0xb1  // ldxb 4 * ([k] & 0xf)
        static let jumpIfEqual: UInt16 = 0x15  // jeq #k
        static let jumpIfAnyBit: UInt16 = 0x45  // jset #k
        static let returnConstant: UInt16 = 0x06  // ret #k
    }

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
        // 4..<4+n port tests, 4+n reject, 5+n accept. Jumps count from the next instruction.
        let reject = 4 + n
        let accept = 5 + n
        var program: [Instruction] = [
            Instruction(code: Code.loadHalfAbsolute, jumpIfTrue: 0, jumpIfFalse: 0, constant: 6),
            // Fragment offset bits set: a later fragment, without a TCP header.
            Instruction(code: Code.jumpIfAnyBit, jumpIfTrue: UInt8(reject - 2), jumpIfFalse: 0, constant: 0x1fff),
            Instruction(code: Code.loadIPHeaderLength, jumpIfTrue: 0, jumpIfFalse: 0, constant: 0),
            Instruction(code: Code.loadHalfIndexed, jumpIfTrue: 0, jumpIfFalse: 0, constant: 2),
        ]
        for (index, port) in ports.enumerated() {
            let next = 4 + index + 1
            program.append(
                Instruction(
                    code: Code.jumpIfEqual, jumpIfTrue: UInt8(accept - next), jumpIfFalse: 0,
                    constant: UInt32(port)))
        }
        program.append(Instruction(code: Code.returnConstant, jumpIfTrue: 0, jumpIfFalse: 0, constant: 0))
        program.append(Instruction(code: Code.returnConstant, jumpIfTrue: 0, jumpIfFalse: 0, constant: Self.acceptAll))
        instructions = program
    }

    /// The filter for a configuration's routes.
    public init?(routes: [CopyRoute]) {
        self.init(destinationPorts: routes.map(\.onlinePort))
    }
}
