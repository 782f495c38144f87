import Logging
import TCPCopyCore

/// Live capture at the link layer with libpcap (`-i IFACE[,IFACE...]`): one handle per
/// interface, each non-blocking with its descriptor in the daemon's epoll, inbound packets
/// only (libpcap's direction, and the Linux cooked header's packet type for `any`).
final class LinkCaptureSource: PacketSource {
    private struct Interface {
        let pcap: PcapHandle
        let linkType: LinkType
    }

    private let interfaces: [Interface]
    let descriptors: [Int32]
    private var counters = LinkCaptureCounters()

    init(link: LinkCapture, configuration: TCPCopyConfiguration, logger: Logger) throws {
        let bufferBytes = Int32(link.bufferMB ?? configuration.captureBufferMB) << 20
        var interfaces: [Interface] = []
        var filters: [String] = []
        for device in link.interfaces {
            // The default filter depends on the device's link type (VLAN tags on Ethernet).
            var filter = ""
            let pcap = try PcapHandle.live(device: device, bufferBytes: bufferBytes) { dataLinkType in
                filter =
                    link.filter
                    ?? RouteFilterExpression.make(
                        routes: configuration.routes, linkType: LinkType(dataLinkType: dataLinkType))
                return filter
            }
            guard let linkType = LinkType(dataLinkType: pcap.dataLinkType) else {
                throw PcapError(
                    "cannot capture on \(device): its link type (DLT \(pcap.dataLinkType)) is not one tcpcopy reads (Ethernet, Linux cooked, raw IP, NULL/LOOP); try -i any"
                )
            }
            interfaces.append(Interface(pcap: pcap, linkType: linkType))
            if !filters.contains(filter) { filters.append(filter) }
        }
        self.interfaces = interfaces
        descriptors = interfaces.map(\.pcap.selectableDescriptor)
        logger.info(
            "capturing at the link layer",
            metadata: [
                "interfaces": "\(link.interfaces.joined(separator: ","))",
                "filter": "\(filters.joined(separator: " | "))",
            ])
    }

    func read(limit: Int, now: MonotonicTime, _ body: (CapturedPacket) -> Void) throws -> Bool {
        let timestamp = CaptureTimestamp(now)
        var behind = false
        for interface in interfaces {
            var handled = 0
            while handled < limit {
                let count = try interface.pcap.dispatch(limit: 64) { frame, length, _ in
                    // Cut by the snap length: its session sees a capture gap.
                    if frame.count < length {
                        counters.truncated += 1
                        return
                    }
                    guard let range = counters.accept(LinkLayerDecoder.decode(frame, linkType: interface.linkType))
                    else { return }
                    body(CapturedPacket(bytes: UnsafeRawBufferPointer(rebasing: frame[range]), timestamp: timestamp))
                }
                handled += count
                if count < 64 { break }
            }
            if handled >= limit { behind = true }
        }
        return behind
    }

    var kernelDropped: Int { interfaces.reduce(0) { $0 + $1.pcap.kernelDropped } }

    func addCounters(to counters: inout CaptureCounters) {
        counters.dropped = kernelDropped
        counters.truncated = self.counters.truncated
        counters.linkLayer = self.counters
    }
}
