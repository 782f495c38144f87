import Glibc
import TCPCopyCore

/// `tcpcopy doctor --probe`: one marked session, sent the way tcpcopy sends its copies, to find
/// where the path breaks. It registers the session with intercept, sends a SYN from the probe
/// client address, and watches two places: the control connection (intercept caught the
/// SYN-ACK, or a RST) and, when the probe address is this host's own, the raw capture (the
/// SYN-ACK escaped past intercept straight back here). It ends with a RST, so the target keeps
/// no half-open socket, and unregisters the session. An IPv6 probe is sent through the raw
/// IPv6 socket and watched for with a raw IPv6 TCP socket (`IPv6AnswerWatch`).
struct DoctorProbe {
    /// The probe's initial sequence number: recognisable in a capture ("7D0C" for doctor).
    static let marker = SequenceNumber(0x7D0C_0001)

    let target: IPAddress
    let port: UInt16
    let client: IPAddress
    let clientIsLocal: Bool
    let controlPort: UInt16

    func run(over link: ControlConnection) -> ProbeOutcome {
        let capture: DirectAnswerWatch
        let sender: PacketSink
        do {
            if target.family == .ipv6 {
                capture = try IPv6AnswerWatch()
                sender = try RawIPv6Sink(sendBufferBytes: 1 << 20)
            } else {
                capture = try RawCaptureSocket(receiveBufferBytes: 1 << 20, filter: nil)
                sender = try RawIPSink(sendBufferBytes: 1 << 20)
            }
        } catch {
            return .notRun("cannot open raw sockets: \(error)")
        }
        // An own address needs a port no local socket uses; binding one (without listening)
        // keeps it ours, and the kernel answers anything else sent to it with a RST.
        let reservation = clientIsLocal ? PortReservation(address: client) : nil
        if clientIsLocal && reservation == nil { return .notRun("cannot reserve a local port on \(client)") }
        let clientPort = reservation?.port ?? UInt16.random(in: 40000...60999)
        let key = RouteKey(clientAddress: client, clientPort: clientPort, targetAddress: target, targetPort: port)
        link.send(.register(key))
        do { try link.flush() } catch { return .notRun("the control connection failed: \(error)") }
        defer {
            link.send(.unregister(key))
            try? link.flush()
        }
        let syn = OutgoingSegment(
            source: client, destination: target, sourcePort: clientPort, destinationPort: port,
            sequence: Self.marker, acknowledgment: SequenceNumber(0), flags: .syn, window: 65535,
            options: TCPOptions(maximumSegmentSize: 1460))
        let answer = exchange(syn, sender: sender, capture: capture, link: link, milliseconds: 2500)
        // Whatever came back, release the target's socket.
        send(reset(after: syn), sender)
        switch answer {
        case .viaIntercept(let flags):
            return flags.contains(.rst) ? .targetReset : .caught
        case .direct:
            return .escaped
        case .none:
            guard clientIsLocal, let second = PortReservation(address: client) else {
                return .silent(targetAnswers: nil)
            }
            // The reference: a SYN from the same address to the control port, which the rule
            // does not queue. An answer proves the target gets this address's packets and routes
            // back to it.
            let reference = OutgoingSegment(
                source: client, destination: target, sourcePort: second.port, destinationPort: controlPort,
                sequence: Self.marker, acknowledgment: SequenceNumber(0), flags: .syn, window: 65535,
                options: TCPOptions(maximumSegmentSize: 1460))
            let seen = exchange(reference, sender: sender, capture: capture, link: nil, milliseconds: 1500)
            send(reset(after: reference), sender)
            return .silent(targetAnswers: seen != nil)
        }
    }

    private enum Answer: Equatable {
        case viaIntercept(TCPFlags)
        case direct
    }

    /// Sends `syn` (again after a second) and waits for its answer through intercept (when
    /// `link` is given) or straight back on the capture.
    private func exchange(
        _ syn: OutgoingSegment, sender: PacketSink, capture: DirectAnswerWatch, link: ControlConnection?,
        milliseconds: Int64
    ) -> Answer? {
        let start = monotonicNow()
        var sentAgain = false
        send(syn, sender)
        var messages: [ControlMessage] = []
        while monotonicNow() - start < milliseconds {
            if !sentAgain && monotonicNow() - start >= 1000 {
                send(syn, sender)
                sentAgain = true
            }
            var requests = [pollfd(fd: capture.descriptor.rawValue, events: Int16(POLLIN), revents: 0)]
            if let link { requests.append(pollfd(fd: link.descriptor.rawValue, events: Int16(POLLIN), revents: 0)) }
            _ = try? systemCall("poll(probe)") { poll(&requests, nfds_t(requests.count), 50) }
            if let link {
                messages.removeAll()
                _ = link.read(into: &messages)
                for case .response(let header) in messages where answers(header.packet, to: syn) {
                    return .viaIntercept(header.packet.flags)
                }
            }
            if capture.sawAnswer(to: syn) { return .direct }
        }
        return nil
    }

    private func answers(_ packet: TCPPacket, to syn: OutgoingSegment) -> Bool {
        packet.answers(syn)
    }

    private func reset(after syn: OutgoingSegment) -> OutgoingSegment {
        OutgoingSegment(
            source: syn.source, destination: syn.destination, sourcePort: syn.sourcePort,
            destinationPort: syn.destinationPort, sequence: syn.sequence + 1, acknowledgment: SequenceNumber(0),
            flags: .rst, window: 0)
    }

    private func send(_ segment: OutgoingSegment, _ sender: PacketSink) {
        sender.queue(segment)
        _ = sender.flush { _ in }
    }
}

/// A TCP port bound (not listening) on a local address for as long as this value lives.
private final class PortReservation {
    let port: UInt16
    private let descriptor: FileDescriptor

    init?(address: IPAddress) {
        let family = address.family == .ipv6 ? AF_INET6 : AF_INET
        guard
            let fd = try? systemCall(
                "socket(TCP)", { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
        else { return nil }
        descriptor = FileDescriptor(fd)
        guard (try? systemCall("bind", { withSocketAddress(address, port: 0) { bind(fd, $0, $1) } })) != nil
        else { return nil }
        // The port sits at the same offset in sockaddr_in and sockaddr_in6.
        var local = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let status = try? systemCall("getsockname") {
            withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        guard status != nil else { return nil }
        port = UInt16(bigEndian: local.sin6_port)
    }
}

extension TCPPacket {
    /// Whether this packet comes from `syn`'s destination back to its source.
    fileprivate func answers(_ syn: OutgoingSegment) -> Bool {
        source == syn.destination && sourcePort == syn.destinationPort && destination == syn.source
            && destinationPort == syn.sourcePort
    }
}

/// Where the probe sees an answer that came straight back to this host, past intercept.
private protocol DirectAnswerWatch: AnyObject {
    var descriptor: FileDescriptor { get }
    /// Reads what is waiting; true when an ACK answering `syn` is among it.
    func sawAnswer(to syn: OutgoingSegment) -> Bool
}

extension RawCaptureSocket: DirectAnswerWatch {
    fileprivate func sawAnswer(to syn: OutgoingSegment) -> Bool {
        var direct = false
        _ = try? receive(limit: 64) { bytes in
            guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false) else { return }
            if packet.answers(syn) && packet.flags.contains(.ack) { direct = true }
        }
        return direct
    }
}

/// The IPv6 watch: a raw `AF_INET6` TCP socket gets every TCP segment addressed to this host,
/// without its IPv6 header (RFC 3542), the sender's address in recvfrom's. The destination
/// address is not checked: the port the probe reserved is its own.
private final class IPv6AnswerWatch: DirectAnswerWatch {
    let descriptor: FileDescriptor
    private var buffer = [UInt8](repeating: 0, count: 2048)

    init() throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET6, SOCK_RAW, IPPROTO_TCP)") {
                socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
            })
        try setNonBlocking(descriptor.rawValue)
    }

    func sawAnswer(to syn: OutgoingSegment) -> Bool {
        let fd = descriptor.rawValue
        var direct = false
        for _ in 0..<64 {
            var from = sockaddr_in6()
            var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            let result = try? nonBlocking("recvfrom(raw6)") {
                buffer.withUnsafeMutableBytes { bytes in
                    withUnsafeMutablePointer(to: &from) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, bytes.baseAddress, bytes.count, 0, $0, &length)
                        }
                    }
                }
            }
            guard case .done(let count) = result, count >= 14 else { break }
            let source = IPAddress.v6(IPv6Address(from.sin6_addr))
            let sourcePort = UInt16(buffer[0]) << 8 | UInt16(buffer[1])
            let destinationPort = UInt16(buffer[2]) << 8 | UInt16(buffer[3])
            let flags = TCPFlags(rawValue: buffer[13])
            if source == syn.destination && sourcePort == syn.destinationPort
                && destinationPort == syn.sourcePort && flags.contains(.ack)
            {
                direct = true
            }
        }
        return direct
    }
}
