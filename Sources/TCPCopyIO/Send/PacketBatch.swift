import Glibc
import TCPCopyCore

/// Why the kernel did not take a packet of a batch: the packet is counted under `errnoName`
/// and skipped.
enum SendRefusal: Error, CustomStringConvertible {
    /// sendmmsg failed on the batch's first packet.
    case failed(SystemCallError)
    /// sendmmsg returned 0: it took none of the packets and set no errno.
    case nothingSent(call: String)

    /// The errno's name (`EPERM`, `EMSGSIZE`, ...), or `none` when there was no errno: the
    /// stats line's `send_error_<name>`.
    var errnoName: String {
        switch self {
        case .failed(let error): error.errnoName
        case .nothingSent: "none"
        }
    }

    var description: String {
        switch self {
        case .failed(let error): error.description
        case .nothingSent(let call): "\(call) sent nothing and gave no error"
        }
    }
}

/// Packets encoded back to back in one buffer, with each one's offset and length, sent up to
/// `limit` per system call (sendmmsg). The sinks keep what else each packet needs (its
/// destination, its link address) beside it, index for index.
struct PacketBatch {
    let limit: Int
    private var bytes: [UInt8] = []
    private var offsets: [UInt32] = []
    private var lengths: [UInt32] = []

    init(limit: Int) {
        self.limit = limit
        bytes.reserveCapacity(limit * 1600)
        offsets.reserveCapacity(limit)
        lengths.reserveCapacity(limit)
    }

    /// Packets queued and not sent yet.
    var count: Int { offsets.count }

    /// Encodes `segment` at the end of the batch.
    mutating func append(_ segment: OutgoingSegment) {
        let start = bytes.count
        segment.encode(into: &bytes)
        appended(from: start)
    }

    /// The bytes of the packet at `index`, for a sink that reads back what it needs (a
    /// destination) from the header.
    func packet(at index: Int) -> ArraySlice<UInt8> {
        let start = Int(offsets[index])
        return bytes[start..<(start + Int(lengths[index]))]
    }

    private mutating func appended(from start: Int) {
        offsets.append(UInt32(start))
        lengths.append(UInt32(bytes.count - start))
    }

    /// Sends every packet with `sendChunk`, one sendmmsg (named `call` in errors) of `count`
    /// packets from index `first` that returns how many went out, or -1 with errno set when
    /// the first failed. Each refused packet is reported to `refused` and skipped: a full
    /// conntrack table (EPERM), a full send buffer (EAGAIN) or an oversized packet (EMSGSIZE)
    /// must cost one packet, not the batch. Empties the batch; returns how many went out.
    mutating func send(
        call: String, refused: (SendRefusal) -> Void,
        _ sendChunk: (
            _ base: UnsafePointer<UInt8>?, _ offsets: UnsafePointer<UInt32>, _ lengths: UnsafePointer<UInt32>,
            _ first: Int, _ count: Int32
        ) -> Int32
    ) -> Int {
        var next = 0
        var sent = 0
        let total = offsets.count
        bytes.withUnsafeBufferPointer { base in
            offsets.withUnsafeBufferPointer { offsets in
                lengths.withUnsafeBufferPointer { lengths in
                    while next < total {
                        let chunk = Int32(min(limit, total - next))
                        do throws(SystemCallError) {
                            let result = try systemCall(call) {
                                sendChunk(
                                    base.baseAddress, offsets.baseAddress! + next, lengths.baseAddress! + next, next,
                                    chunk)
                            }
                            if result > 0 {
                                next += Int(result)
                                sent += Int(result)
                                continue
                            }
                            refused(.nothingSent(call: call))
                        } catch {
                            refused(.failed(error))
                        }
                        next += 1
                    }
                }
            }
        }
        bytes.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        return sent
    }
}
