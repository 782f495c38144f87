/// The steps of tcpcopy's loss funnel that are counted where packets and control messages go
/// out and come in: how many SYNs went to the targets and how many SYN-ACKs came back, how many
/// request segments went and how many responses carried data, and the control messages each way.
/// A gap between two adjacent steps says where copies are lost.
public struct TrafficFunnel: Sendable, Equatable, MetricSet {
    public var synsSent = 0
    public var dataSegmentsSent = 0
    public var resetsSent = 0
    public var synAcksSeen = 0
    public var responseDataSeen = 0
    public var controlMessagesSent = 0
    public var controlMessagesReceived = 0

    public init() {}

    /// A segment went to the target.
    public mutating func sent(_ segment: OutgoingSegment) {
        if segment.flags.contains(.syn) { synsSent += 1 }
        if segment.flags.contains(.rst) { resetsSent += 1 }
        if !segment.payload.isEmpty { dataSegmentsSent += 1 }
    }

    /// A response header came back from intercept.
    public mutating func responded(_ packet: TCPPacket) {
        if packet.flags.contains(.syn) && packet.flags.contains(.ack) { synAcksSeen += 1 }
        if packet.payloadLength > 0 { responseDataSeen += 1 }
    }

    public func add(to line: inout CounterLine) {
        for value in metricValues { line.add(value.key, value.value) }
    }

    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("syns_sent", \.synsSent, "SYNs sent to the targets: the handshake step of the loss funnel"),
        .counter("syn_acks_seen", \.synAcksSeen, "SYN-ACKs of the targets received from intercept"),
        .counter("data_segments_sent", \.dataSegmentsSent, "Request segments (carrying data) sent to the targets"),
        .counter("response_data_seen", \.responseDataSeen, "Response headers of packets that carried data"),
        .counter("resets_sent", \.resetsSent, "RSTs sent to the targets"),
        .counter("control_messages_sent", \.controlMessagesSent, "Messages sent on the control links"),
        .counter("control_messages_received", \.controlMessagesReceived, "Messages received on the control links"),
    ]
}
