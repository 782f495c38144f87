import Logging
import TCPCopyCore

/// The packet source the configuration asks for.
func makePacketSource(configuration: TCPCopyConfiguration, logger: Logger) throws -> PacketSource {
    let capture = try RawCaptureSocket(
        receiveBufferBytes: Int32(configuration.captureBufferMB) << 20,
        filter: CaptureFilter(routes: configuration.routes))
    if !capture.filtered {
        logger.warning(
            "capturing without a port filter (the kernel refused the BPF program, or there are over 200 ports): tcpcopy reads and skips every TCP packet this host receives"
        )
    }
    return capture
}
