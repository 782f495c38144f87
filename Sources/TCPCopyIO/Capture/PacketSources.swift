import Glibc
import Logging
import TCPCopyCore

/// The packet source the configuration asks for.
func makePacketSource(configuration: TCPCopyConfiguration, logger: Logger) throws -> PacketSource {
    switch configuration.capture {
    case .rawSocket:
        let capture = try RawCaptureSocket(
            receiveBufferBytes: Int32(configuration.captureBufferMB) << 20,
            filter: CaptureFilter(routes: configuration.routes))
        if !capture.filtered {
            logger.warning(
                "capturing without a port filter (the kernel refused the BPF program, or there are over 200 ports): tcpcopy reads and skips every TCP packet this host receives"
            )
        }
        return capture
    case .link(let link):
        return try LinkCaptureSource(link: link, configuration: configuration, logger: logger)
    case .offline(let replay):
        return try OfflineReplaySource(replay: replay, routes: configuration.routes, logger: logger)
    }
}

/// Whether `path` names a regular file: `-i FILE` then replays it, as the original did.
public func isCaptureFile(_ path: String) -> Bool {
    guard let status = try? fileStatus(path) else { return false }
    return status.st_mode & S_IFMT == S_IFREG
}

/// Why `path` cannot be replayed, checked before anything starts (the file's format is checked
/// when it is opened); nil when it is a readable regular file.
public func captureFileProblem(_ path: String) -> String? {
    do {
        guard try fileStatus(path).st_mode & S_IFMT == S_IFREG else { return "not a regular file" }
        try systemCall("access") { access(path, R_OK) }
    } catch {
        return String(cString: strerror(error.errno))
    }
    return nil
}

private func fileStatus(_ path: String) throws(SystemCallError) -> stat {
    var status = stat()
    try systemCall("stat") { stat(path, &status) }
    return status
}
