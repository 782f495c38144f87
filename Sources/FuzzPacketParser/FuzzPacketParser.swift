// libFuzzer entry for the packet parsers (IPv4, IPv6) and address text: every byte string a
// raw socket or NFQUEUE could hand us must parse or be refused with a reason, never trap, and a
// parsed packet must describe bytes that exist. Built only by Scripts/fuzz.sh
// (-sanitize=fuzzer,address -parse-as-library).
import TCPCopyCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let all = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte picks an offset, so that slices whose indices do not start at zero (what
    // the capture path hands the engine) are exercised too.
    let offset = Int(all[0]) % 8
    guard offset + 1 <= all.count else { return 0 }
    let padded = Array(repeating: 0xEE, count: offset) + all.dropFirst()
    let slice = padded[offset...]
    for requirePayload in [true, false] {
        for result in [
            TCPPacket.parse(slice, requirePayload: requirePayload),
            TCPPacket.parse(Array(slice), requirePayload: requirePayload),
        ] {
            guard case .success(let packet) = result else { continue }
            precondition(packet.headerLength >= 40 && packet.headerLength <= slice.count, "header beyond the bytes")
            precondition(packet.payloadLength >= 0, "negative payload")
            if requirePayload {
                precondition(packet.headerLength + packet.payloadLength <= slice.count, "payload beyond the bytes")
                // What the engine does with it.
                let start = slice.startIndex + packet.headerLength
                let payload = Array(slice[start..<(start + packet.payloadLength)])
                precondition(payload.count == packet.payloadLength)
            }
            _ = RouteKey(response: packet)
        }
    }
    for requirePayload in [true, false] {
        for result in [
            IPv6TCPPacket.parse(slice, requirePayload: requirePayload),
            IPv6TCPPacket.parse(Array(slice), requirePayload: requirePayload),
        ] {
            guard case .success(let packet) = result else { continue }
            precondition(packet.tcpOffset >= 40 && packet.headerLength >= packet.tcpOffset + 20, "short headers")
            precondition(packet.headerLength <= slice.count, "header beyond the bytes")
            precondition(packet.payloadLength >= 0, "negative payload")
            if requirePayload {
                precondition(packet.headerLength + packet.payloadLength <= slice.count, "payload beyond the bytes")
            }
        }
    }
    // The same bytes as address text: what parses prints canonically and parses back the same.
    let text = String(decoding: slice, as: UTF8.self)
    if let address = IPAddress(text) {
        precondition(IPAddress(address.description) == address, "canonical text that does not parse back")
    }
    if let network = IPNetwork(text) {
        precondition(IPNetwork(network.description) == network, "network text that does not parse back")
        precondition(network.contains(network.address), "a network without its own address")
    }
    _ = EndpointText.route(text)
    _ = EndpointText.networkList(text)
    if let header = ResponseHeader(packetPrefix: slice) {
        precondition(ResponseHeader(bytes: header.bytes) != nil, "a header prefix that does not parse alone")
    }
    _ = TCPOptions(parsing: slice)
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; here it hands control to
// libFuzzer's driver with the function above (libFuzzer's own main is not used).
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzPacketParser_main")
public func fuzzPacketParserMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzPacketParser)
}
