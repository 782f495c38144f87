import Testing

@testable import TCPCopyCore

@Suite struct MetricsModelTests {
    @Test func statsLineBecomesCountersAndGauges() {
        let samples = StatsLineMetrics.samples(
            statsLine: "captured=12 sessions_live=3 send_error_EPERM=2 rss_kb=1024 junk bad=x", program: "tcpcopy")
        #expect(
            samples == [
                MetricSample(name: "tcpcopy_captured_total", value: 12, kind: .counter),
                MetricSample(name: "tcpcopy_sessions_live", value: 3, kind: .gauge),
                MetricSample(name: "tcpcopy_send_error_EPERM_total", value: 2, kind: .counter),
                MetricSample(name: "tcpcopy_rss_kb", value: 1024, kind: .gauge),
            ])
        #expect(StatsLineMetrics.samples(statsLine: "a-b.c=1", program: "x").first?.name == "x_a_b_c_total")
    }

    @Test func timingsStartOnceAndFinishOnce() {
        var timings = SessionTimings<Int>(capacity: 2)
        timings.start(1, at: MonotonicTime(milliseconds: 100))
        timings.start(1, at: MonotonicTime(milliseconds: 150))  // the first event counts
        #expect(timings.finish(1, at: MonotonicTime(milliseconds: 175)) == 75)
        #expect(timings.finish(1, at: MonotonicTime(milliseconds: 200)) == nil)
        timings.start(2, at: MonotonicTime(milliseconds: 0))
        timings.start(3, at: MonotonicTime(milliseconds: 0))
        timings.start(4, at: MonotonicTime(milliseconds: 0))  // over capacity: not timed
        #expect(timings.openCount == 2)
        timings.forget(2)
        #expect(timings.finish(2, at: MonotonicTime(milliseconds: 5)) == nil)
    }

    @Test func spansRunFromFirstToLastEvent() {
        var spans = SessionSpans<Int>()
        spans.start(7, at: MonotonicTime(milliseconds: 1000))
        spans.touch(7, at: MonotonicTime(milliseconds: 1040))
        spans.touch(8, at: MonotonicTime(milliseconds: 1050))  // never started: ignored
        #expect(spans.finish(7) == 40)
        #expect(spans.finish(8) == nil)
    }

    @Test func httpRequests() {
        #expect(MetricsHTTP.parse(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)) == .incomplete)
        #expect(MetricsHTTP.parse(Array("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == .get(path: "/metrics"))
        #expect(MetricsHTTP.parse(Array("POST /metrics HTTP/1.1\r\n\r\n".utf8)) == .unsupported)
        #expect(MetricsHTTP.parse(Array("garbage\r\n\r\n".utf8)) == .unsupported)
        #expect(MetricsHTTP.parse([UInt8](repeating: 65, count: 9000)) == .unsupported)
        let response = String(
            decoding: MetricsHTTP.response(status: 200, contentType: "t", body: Array("ab".utf8)), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Length: 2\r\n"))
        #expect(response.hasSuffix("\r\n\r\nab"))
    }

    @Test func listenAddresses() throws {
        #expect(
            try MetricsListenAddress.parse("127.0.0.1:9100")
                == MetricsListenAddress(address: IPv4Address(127, 0, 0, 1), port: 9100))
        #expect(try MetricsListenAddress.parse(":9100") == MetricsListenAddress(address: nil, port: 9100))
        #expect(try MetricsListenAddress.parse("9100") == nil)
        #expect(throws: ConfigurationError.self) { try MetricsListenAddress.parse("127.0.0.1:0") }
        #expect(throws: ConfigurationError.self) { try MetricsListenAddress.parse("127.0.0:9100") }
    }
}

@Suite struct TrafficFunnelTests {
    private func segment(_ flags: TCPFlags, payload: [UInt8] = []) -> OutgoingSegment {
        OutgoingSegment(
            source: .v4(IPv4Address(10, 0, 0, 9)), destination: .v4(IPv4Address(10, 0, 0, 2)), sourcePort: 40000,
            destinationPort: 80, sequence: SequenceNumber(1), acknowledgment: SequenceNumber(2), flags: flags,
            window: 1000, payload: payload[...])
    }

    private func packet(_ flags: TCPFlags, payload: [UInt8] = []) throws -> TCPPacket {
        try TCPPacket.parse(segment(flags, payload: payload).encode(), requirePayload: true).get()
    }

    @Test func countsEachStep() throws {
        var funnel = TrafficFunnel()
        funnel.sent(segment(.syn))
        funnel.sent(segment([.ack, .psh], payload: [1, 2, 3]))
        funnel.sent(segment(.ack))
        funnel.sent(segment(.rst))
        funnel.responded(try packet([.syn, .ack]))
        funnel.responded(try packet([.ack, .psh], payload: [9]))
        funnel.responded(try packet(.ack))
        funnel.controlMessagesSent = 4
        var line = CounterLine()
        funnel.add(to: &line)
        #expect(
            line.text
                == "syns_sent=1 syn_acks_seen=1 data_segments_sent=1 response_data_seen=1 resets_sent=1 "
                + "control_messages_sent=4 control_messages_received=0")
    }
}
