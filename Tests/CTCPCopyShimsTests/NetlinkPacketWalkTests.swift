import CTCPCopyShims
import Glibc
import Testing

/// Netlink messages as the kernel lays them out (host byte order headers, 4-byte alignment).
private enum Netlink {
    static let packetType: UInt16 = 3 << 8 | 0  // NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET
    static let verdictType: UInt16 = 3 << 8 | 1  // NFQNL_MSG_VERDICT
    static let batchVerdictType: UInt16 = 3 << 8 | 3  // NFQNL_MSG_VERDICT_BATCH
    static let error: UInt16 = 2  // NLMSG_ERROR
    static let done: UInt16 = 3  // NLMSG_DONE
    static let packetHeaderAttribute: UInt16 = 1  // NFQA_PACKET_HDR
    static let markAttribute: UInt16 = 3  // NFQA_MARK
    static let payloadAttribute: UInt16 = 10  // NFQA_PAYLOAD

    static func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4) }

    static func little16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func little32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func big32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    static func attribute(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        padded(little16(UInt16(4 + data.count)) + little16(type) + data)
    }

    /// A message of `type` with `body` after the 16-byte header; `length` overrides nlmsg_len.
    static func message(_ type: UInt16, _ body: [UInt8], length: UInt32? = nil) -> [UInt8] {
        little32(length ?? UInt32(16 + body.count)) + little16(type) + little16(0) + little32(0) + little32(0) + body
    }

    static let nfgenmsg: [UInt8] = [2, 0, 0, 0]  // AF_INET, version 0, queue 0

    static func packetHeader(_ id: UInt32) -> [UInt8] {
        attribute(packetHeaderAttribute, big32(id) + [0x08, 0x00, 3])  // IPv4, hook OUTPUT
    }

    static func packet(id: UInt32, payload: [UInt8]) -> [UInt8] {
        message(
            packetType,
            nfgenmsg + packetHeader(id) + attribute(markAttribute, big32(7)) + attribute(payloadAttribute, payload))
    }

    static func errorReport(_ code: Int32) -> [UInt8] {
        // struct nlmsgerr: the error, then the header of the message it answers.
        message(error, little32(UInt32(bitPattern: -code)) + message(verdictType, [], length: 16))
    }
}

/// What one walk of a buffer found, in order.
private enum Found: Equatable {
    case packet(UInt32, [UInt8])
    case unreadable(UInt32)
    case error(Int32)
    case malformed
}

private func walk(_ buffer: [UInt8], limit: Int = 1000) -> [Found] {
    var found: [Found] = []
    buffer.withUnsafeBytes { raw in
        var offset = 0
        var packet = CTCPCopyShims_nfq_packet()
        for _ in 0..<limit {
            let status = Int(CTCPCopyShims_nfq_next_packet(raw.baseAddress, raw.count, &offset, &packet))
            switch status {
            case CTCPCopyShims_nfq_found:
                found.append(
                    .packet(
                        packet.packet_id,
                        Array(UnsafeRawBufferPointer(start: packet.payload, count: Int(packet.payload_len)))))
            case CTCPCopyShims_nfq_unreadable: found.append(.unreadable(packet.packet_id))
            case CTCPCopyShims_nfq_error: found.append(.error(errno))
            case CTCPCopyShims_nfq_malformed: found.append(.malformed)
            default: return
            }
            #expect(offset <= raw.count)
        }
        Issue.record("the walk did not end")
    }
    return found
}

/// The walk over netlink buffers from the NFQUEUE socket: whatever the bytes say, it stays inside
/// the buffer, ends, and reports every packet id it can read so that the packet gets a verdict.
@Suite struct NetlinkPacketWalkTests {
    @Test func packetsAreFoundInOrder() {
        let buffer = Netlink.packet(id: 41, payload: [0x45, 1, 2]) + Netlink.packet(id: 42, payload: [0x45, 9])
        #expect(walk(buffer) == [.packet(41, [0x45, 1, 2]), .packet(42, [0x45, 9])])
    }

    @Test func errorReportsAreReportedAndAcknowledgementsSkipped() {
        let buffer =
            Netlink.errorReport(0) + Netlink.errorReport(ENOENT) + Netlink.message(Netlink.done, [0, 0, 0, 0])
            + Netlink.packet(id: 5, payload: [1])
        #expect(walk(buffer) == [.error(ENOENT), .packet(5, [1])])
    }

    @Test func aMessageCutShortStillTellsItsPacketId() {
        let whole = Netlink.packet(id: 77, payload: [UInt8](repeating: 0x45, count: 120))
        // Cut inside the payload attribute, as MSG_TRUNC leaves a datagram longer than its slot.
        #expect(walk(Array(whole.prefix(60))) == [.unreadable(77)])
        // Cut before the packet header is whole: no id to drop.
        #expect(walk(Array(whole.prefix(26))) == [.malformed])
        #expect(walk(Array(whole.prefix(10))) == [.malformed])
        // A whole message before the cut one is still read.
        #expect(walk(Netlink.packet(id: 1, payload: [1]) + whole.prefix(60)) == [.packet(1, [1]), .unreadable(77)])
    }

    @Test func nonsenseLengthsEndTheWalk() {
        for length: UInt32 in [0, 3, 15, 0xFFFF_FFFF] {
            let bogus = Netlink.message(Netlink.packetType, Netlink.nfgenmsg + Netlink.packetHeader(9), length: length)
            let found = walk(bogus + Netlink.packet(id: 10, payload: [1]))
            #expect(found.last == .malformed || found.last == .unreadable(9), "length \(length)")
            #expect(!found.contains(.packet(10, [1])), "nothing after a bad length is trusted")
        }
    }

    @Test func brokenAttributes() {
        // An attribute longer than its message, after the packet header: drop that packet.
        let afterHeader = Netlink.message(
            Netlink.packetType,
            Netlink.nfgenmsg + Netlink.packetHeader(3) + Netlink.little16(200) + Netlink.little16(10))
        #expect(walk(afterHeader + Netlink.packet(id: 4, payload: [1])) == [.unreadable(3), .packet(4, [1])])
        // Before it: nothing to drop.
        let beforeHeader = Netlink.message(
            Netlink.packetType,
            Netlink.nfgenmsg + Netlink.little16(200) + Netlink.little16(10) + Netlink.packetHeader(3))
        #expect(walk(beforeHeader) == [.malformed])
        // A packet header too short to hold an id.
        let shortHeader = Netlink.message(
            Netlink.packetType, Netlink.nfgenmsg + Netlink.attribute(Netlink.packetHeaderAttribute, [0, 0, 1]))
        #expect(walk(shortHeader) == [.malformed])
        // A packet message without a packet header, and one too short for its nfgenmsg.
        let noHeader = Netlink.message(
            Netlink.packetType, Netlink.nfgenmsg + Netlink.attribute(Netlink.payloadAttribute, [1]))
        #expect(walk(noHeader) == [.malformed])
        #expect(walk(Netlink.message(Netlink.packetType, [])) == [.malformed])
        // An attribute of length zero would never advance.
        let zeroAttribute = Netlink.message(
            Netlink.packetType, Netlink.nfgenmsg + [0, 0, 0, 0] + Netlink.packetHeader(8))
        #expect(walk(zeroAttribute) == [.malformed])
    }

    @Test func aPacketWithoutPayloadIsStillAPacket() {
        let buffer = Netlink.message(Netlink.packetType, Netlink.nfgenmsg + Netlink.packetHeader(6))
        #expect(walk(buffer) == [.packet(6, [])])
    }

    @Test func randomBytesNeverEscapeTheBuffer() {
        var generator = SystemRandomNumberGenerator()
        let sample = Netlink.packet(id: 1, payload: [UInt8](repeating: 0x45, count: 40))
        for _ in 0..<5000 {
            var bytes = sample + sample
            // Flip a few bytes of a valid buffer, or cut it anywhere.
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            _ = walk(bytes)
        }
    }

    @Test func verdictMessages() {
        var buffer = [UInt8](repeating: 0xEE, count: 80)
        var used = 0
        #expect(CTCPCopyShims_nfq_put_verdict(&buffer, buffer.count, &used, 5, 0x0102_0304, 1) == 0)
        #expect(CTCPCopyShims_nfq_put_drop_through(&buffer, buffer.count, &used, 5, 0x0A0B_0C0D) == 0)
        #expect(used == 64)
        // A third does not fit in 80 bytes: nothing is written.
        #expect(CTCPCopyShims_nfq_put_drop_through(&buffer, buffer.count, &used, 5, 1) == -1)
        #expect(used == 64)
        #expect(buffer[64...].allSatisfy { $0 == 0xEE })
        // Header: length 32, type; then nfgenmsg with the queue; then the verdict attribute.
        #expect(Array(buffer[0..<6]) == Netlink.little32(32) + Netlink.little16(Netlink.verdictType))
        #expect(Array(buffer[32..<38]) == Netlink.little32(32) + Netlink.little16(Netlink.batchVerdictType))
        #expect(Array(buffer[18..<20]) == [0, 5])
        // struct nfqnl_msg_verdict_hdr: verdict, id (big-endian). NF_ACCEPT is 1, NF_DROP 0.
        #expect(Array(buffer[24..<32]) == Netlink.big32(1) + Netlink.big32(0x0102_0304))
        #expect(Array(buffer[56..<64]) == Netlink.big32(0) + Netlink.big32(0x0A0B_0C0D))
    }
}
