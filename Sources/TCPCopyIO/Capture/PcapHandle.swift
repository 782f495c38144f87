import CPcap
import Glibc
import TCPCopyCore

/// A libpcap failure: which call, on which device or file, and libpcap's own words.
public struct PcapError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// One libpcap handle, live or on a file; closed when released. Every libpcap call of the
/// project is here.
final class PcapHandle {
    private let handle: OpaquePointer
    /// The device or file, for messages.
    let name: String

    private init(handle: OpaquePointer, name: String) {
        self.handle = handle
        self.name = name
    }

    deinit { pcap_close(handle) }

    /// A live capture on `device`, activated, non-blocking, inbound only unless `inboundOnly` is
    /// false, with the filter `filter` gives for the device's link type (known only once the
    /// handle is active).
    static func live(
        device: String, bufferBytes: Int32, inboundOnly: Bool = true, blockTimeoutMilliseconds: Int32 = 1,
        filter: (_ dataLinkType: Int32) -> String
    ) throws(PcapError) -> PcapHandle {
        var errors = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let raw = pcap_create(device, &errors) else {
            throw PcapError("cannot capture on \(device): \(Self.text(errors))")
        }
        let pcap = PcapHandle(handle: raw, name: device)
        // Room for a GRO super-packet (64 KiB of IP) behind any link header.
        _ = pcap_set_snaplen(raw, 262_144)
        _ = pcap_set_promisc(raw, 0)
        // TPACKET_V3 (libpcap's choice without immediate mode): the ring is cut into blocks
        // that hold packets of any size back to back, so 64 MiB holds hundreds of thousands of
        // small packets as well as GRO super-packets. Immediate mode (TPACKET_V2) gives every
        // packet a slot of the largest size, a few hundred slots in 64 MiB, and dropped packets
        // in bursts the raw socket absorbed (docs/capture.md). A block is handed over when it
        // fills or after this timeout: a millisecond asked, a jiffy or two in practice, below
        // the loop's own batching window.
        _ = pcap_set_timeout(raw, blockTimeoutMilliseconds)
        _ = pcap_set_buffer_size(raw, bufferBytes)
        let status = pcap_activate(raw)
        if status < 0 {
            let detail = status == PCAP_ERROR ? pcap.lastError : String(cString: pcap_statustostr(status))
            throw PcapError(
                "cannot capture on \(device): \(detail)\(status == PCAP_ERROR_NO_SUCH_DEVICE ? " (see ip link for the interfaces)" : "")"
            )
        }
        // Packets this host sends (tcpcopy's copies among them) are never a client's.
        guard !inboundOnly || pcap_setdirection(raw, PCAP_D_IN) == 0 else {
            throw PcapError("cannot capture only inbound packets on \(device): \(pcap.lastError)")
        }
        try pcap.setFilter(filter(pcap.dataLinkType))
        var nonBlockingErrors = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard pcap_setnonblock(raw, 1, &nonBlockingErrors) == 0 else {
            throw PcapError("pcap_setnonblock(\(device)): \(Self.text(nonBlockingErrors))")
        }
        return pcap
    }

    /// A capture file (pcap or pcapng), timestamps in nanoseconds whatever the file holds.
    static func file(_ path: String) throws(PcapError) -> PcapHandle {
        var errors = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let raw = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errors)
        else {
            throw PcapError("cannot read the capture file \(path): \(Self.text(errors))")
        }
        return PcapHandle(handle: raw, name: path)
    }

    func setFilter(_ filter: String) throws(PcapError) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError("the filter \"\(filter)\" does not compile: \(lastError)")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw PcapError("cannot set the filter \"\(filter)\" on \(name): \(lastError)")
        }
    }

    /// libpcap's message in an error buffer (NUL-terminated).
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var lastError: String { String(cString: pcap_geterr(handle)) }

    /// The DLT (live) or LINKTYPE (file) of the frames.
    var dataLinkType: Int32 { pcap_datalink(handle) }

    /// The descriptor epoll watches (live captures only).
    var selectableDescriptor: Int32 { pcap_get_selectable_fd(handle) }

    /// Packets the kernel dropped for lack of buffer since the capture started (live only).
    var kernelDropped: Int {
        var statistics = pcap_stat()
        guard pcap_stats(handle, &statistics) == 0 else { return 0 }
        return Int(statistics.ps_drop)
    }

    /// Hands up to `limit` waiting packets to `body` (frame, captured length, length on the
    /// wire, timestamp); returns how many, 0 when none waits.
    func dispatch(
        limit: Int32, _ body: (UnsafeRawBufferPointer, Int, CaptureTimestamp) -> Void
    ) throws(PcapError) -> Int {
        typealias Body = (UnsafeRawBufferPointer, Int, CaptureTimestamp) -> Void
        let count = withoutActuallyEscaping(body) { escapable in
            var callee: Body = escapable
            return withUnsafeMutablePointer(to: &callee) { pointer in
                pcap_dispatch(
                    handle, limit,
                    { user, header, bytes in
                        guard let user, let header, let bytes else { return }
                        let body = UnsafeMutableRawPointer(user).assumingMemoryBound(to: Body.self).pointee
                        let frame = UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen))
                        body(
                            frame, Int(header.pointee.len), PcapHandle.timestamp(header.pointee.ts, nanoseconds: false))
                    }, UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt8.self))
            }
        }
        guard count >= 0 else { throw PcapError("reading the capture on \(name) failed: \(lastError)") }
        return Int(count)
    }

    /// The next packet of a file: (frame, length on the wire, timestamp), valid until the next
    /// call; nil at the end of the file.
    func next() throws(PcapError) -> (frame: UnsafeRawBufferPointer, length: Int, timestamp: CaptureTimestamp)? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let header, let data else { return nil }
            return (
                UnsafeRawBufferPointer(start: data, count: Int(header.pointee.caplen)), Int(header.pointee.len),
                Self.timestamp(header.pointee.ts, nanoseconds: true)
            )
        case PCAP_ERROR_BREAK:
            return nil
        default:
            throw PcapError("the capture file \(name) is corrupt or cut short: \(lastError)")
        }
    }

    /// Where reading the file has got to, in bytes (for the progress line).
    var fileOffset: Int {
        guard let file = pcap_file(handle) else { return 0 }
        return Int(ftell(file))
    }

    private static func timestamp(_ time: timeval, nanoseconds: Bool) -> CaptureTimestamp {
        CaptureTimestamp(
            nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_usec) * (nanoseconds ? 1 : 1000))
    }
}
