import Glibc
import TCPCopyCore

/// `tcpcopy doctor --probe`: one marked session, sent the way tcpcopy sends its copies, to find
/// where the path breaks. It registers the session with intercept, sends a SYN from the probe
/// client address, and watches two places: the control connection (intercept caught the
/// SYN-ACK, or a RST) and, when the probe address is this host's own, the raw capture (the
/// SYN-ACK escaped past intercept straight back here). It ends with a RST, so the target keeps
/// no half-open socket, and unregisters the session. An IPv6 probe is sent through the raw
/// IPv6 socket; the raw capture is IPv4's, so over IPv6 only intercept's answer is watched (an
/// escaped response reads as silent).
struct DoctorProbe {
    /// The probe's initial sequence number: recognisable in a capture ("7D0C" for doctor).
    static let marker = SequenceNumber(0x7D0C_0001)

    let target: IPAddress
    let port: UInt16
    let client: IPAddress
    let clientIsLocal: Bool
    let controlPort: UInt16

    func run(over link: ControlConnection) -> ProbeOutcome {
        let capture: RawCaptureSocket?
        let sender: PacketSink
        do {
            if target.family == .ipv6 {
                capture = nil
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
            guard clientIsLocal, capture != nil, let second = PortReservation(address: client) else {
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
        _ syn: OutgoingSegment, sender: PacketSink, capture: RawCaptureSocket?, link: ControlConnection?,
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
            var requests: [pollfd] = []
            if let capture {
                requests.append(pollfd(fd: capture.descriptor.rawValue, events: Int16(POLLIN), revents: 0))
            }
            if let link { requests.append(pollfd(fd: link.descriptor.rawValue, events: Int16(POLLIN), revents: 0)) }
            _ = try? systemCall("poll(probe)") { poll(&requests, nfds_t(requests.count), 50) }
            if let link {
                messages.removeAll()
                _ = link.read(into: &messages)
                for case .response(let header) in messages where answers(header.packet, to: syn) {
                    return .viaIntercept(header.packet.flags)
                }
            }
            var direct = false
            _ = try? capture?.receive(limit: 64) { bytes in
                guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false) else { return }
                if answers(packet, to: syn) && packet.flags.contains(.ack) { direct = true }
            }
            if direct { return .direct }
        }
        return nil
    }

    private func answers(_ packet: TCPPacket, to syn: OutgoingSegment) -> Bool {
        packet.source == syn.destination && packet.sourcePort == syn.destinationPort
            && packet.destination == syn.source && packet.destinationPort == syn.sourcePort
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
