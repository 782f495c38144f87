import Testing

@testable import TCPCopyCore

/// Runs a classic BPF program the way the kernel does, for the few instructions
/// `CaptureFilter` uses; a load past the end of the packet rejects it, as in the kernel.
private func run(_ filter: CaptureFilter, on packet: [UInt8]) -> UInt32 {
    var a: UInt32 = 0
    var x: UInt32 = 0
    var pc = 0
    func half(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset + 1 < packet.count else { return nil }
        return UInt32(packet[offset]) << 8 | UInt32(packet[offset + 1])
    }
    for _ in 0..<1000 {
        let i = filter.instructions[pc]
        pc += 1
        switch i.code {
        case CaptureFilter.Code.loadHalfAbsolute:
            guard let value = half(Int(i.constant)) else { return 0 }
            a = value
        case CaptureFilter.Code.loadHalfIndexed:
            guard let value = half(Int(x) + Int(i.constant)) else { return 0 }
            a = value
        case CaptureFilter.Code.loadIPHeaderLength:
            guard Int(i.constant) < packet.count else { return 0 }
            x = UInt32(packet[Int(i.constant)] & 0x0f) * 4
        case CaptureFilter.Code.jumpIfEqual:
            pc += Int(a == i.constant ? i.jumpIfTrue : i.jumpIfFalse)
        case CaptureFilter.Code.jumpIfAnyBit:
            pc += Int(a & i.constant != 0 ? i.jumpIfTrue : i.jumpIfFalse)
        case CaptureFilter.Code.returnConstant:
            return i.constant
        default:
            Issue.record("unexpected instruction \(i.code)")
            return 0
        }
    }
    Issue.record("the program did not end")
    return 0
}

@Suite struct CaptureFilterTests {
    private func packet(toPort port: UInt16, options: TCPOptions = TCPOptions()) -> [UInt8] {
        CapturedClient(serverPort: port).bytes(seq: 1, .syn, options: options)
    }

    @Test func keepsTheRoutesPortsWhole() throws {
        let filter = try #require(CaptureFilter(destinationPorts: [80, 443, 6379]))
        for port: UInt16 in [80, 443, 6379] {
            let bytes = packet(toPort: port)
            #expect(run(filter, on: bytes) >= UInt32(bytes.count))
        }
    }

    @Test func dropsOtherPortsSuchAsTheControlConnection() throws {
        let filter = try #require(CaptureFilter(destinationPorts: [80]))
        for port: UInt16 in [36524, 81, 8080, 0, 65535] {
            #expect(run(filter, on: packet(toPort: port)) == 0)
        }
    }

    @Test func readsThePortBehindIPOptions() throws {
        let filter = try #require(CaptureFilter(destinationPorts: [80]))
        // The same SYN with 8 bytes of IP options (NOPs and an end-of-list): header length 28.
        var bytes = packet(toPort: 80)
        bytes.insert(contentsOf: [1, 1, 1, 1, 1, 1, 1, 0], at: 20)
        bytes[0] = 0x47
        #expect(run(filter, on: bytes) > 0)
        bytes[20 + 8 + 3] = 81  // destination port 81 now
        #expect(run(filter, on: bytes) == 0)
    }

    @Test func dropsLaterFragments() throws {
        let filter = try #require(CaptureFilter(destinationPorts: [80]))
        var bytes = packet(toPort: 80)
        bytes[6] = 0x20  // more fragments, offset 0: the first fragment carries the ports
        #expect(run(filter, on: bytes) > 0)
        bytes[7] = 0x10  // offset 16 × 8 bytes: no TCP header here
        #expect(run(filter, on: bytes) == 0)
    }

    @Test func duplicatePortsAreTestedOnce() throws {
        let filter = try #require(CaptureFilter(destinationPorts: [80, 80, 443]))
        #expect(filter.instructions.count == 4 + 2 + 2)
    }

    @Test func noPortsOrTooManyMeanNoFilter() {
        #expect(CaptureFilter(destinationPorts: []) == nil)
        #expect(CaptureFilter(destinationPorts: (1...201).map { UInt16($0) }) == nil)
        let most = CaptureFilter(destinationPorts: (1...200).map { UInt16($0) })
        #expect(most != nil)
        if let most {
            let bytes = packet(toPort: 200)
            #expect(run(most, on: bytes) > 0)
            #expect(run(most, on: packet(toPort: 201)) == 0)
        }
    }

    @Test func packsEachInstructionLikeStructSockFilter() {
        let instruction = CaptureFilter.Instruction(code: 0x15, jumpIfTrue: 3, jumpIfFalse: 1, constant: 80)
        #expect(instruction.packed == 0x0015_0301_0000_0050)
    }
}
