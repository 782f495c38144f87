import Logging
import TCPCopyCore

/// tcpcopy's part of `--compare` in the daemon: a few calls from the loop into
/// `CompareObserver`, which does the work. Without `--compare` `compare` is nil and each call
/// site costs one test.
extension TCPCopyDaemon {
    /// Opens the comparison's capture (live sources) or taps the replayed file, and adds its
    /// descriptors to the loop under `token`.
    func startComparing(capture: PacketSource, loop: EventLoop, token: UInt64) throws {
        guard let settings = configuration.compare else { return }
        let offline = capture as? OfflineReplaySource
        let observer = try CompareObserver(
            settings: settings, configuration: configuration, live: offline == nil, logger: logger)
        observer.metrics = metrics
        offline?.observe = { [unowned observer] packet, timestamp in observer.observe(packet, timestamp: timestamp) }
        for descriptor in observer.descriptors { try loop.add(descriptor, token: token) }
        compare = observer
    }

    /// A control message going to `target`'s intercept (`linked`: false when its link is down):
    /// a registration of a compared copy is followed by `compare`; an unregistration (sent or
    /// not) ends the copy's exchanges.
    func compareControl(_ message: ControlMessage, to target: IPAddress, linked: Bool) {
        guard let compare else { return }
        switch message {
        case .register(let key):
            guard linked, compare.copyRegistered(key, of: engine.onlineConnection(of: key)) else { return }
            // The masked names before each compare: a few bytes a session, and a connection set
            // up again after a loss has them without tracking which one had them.
            if !compare.settings.maskedHeaders.isEmpty {
                _ = interceptLinks?.send(.compareConfig(maskedHeaders: compare.settings.maskedHeaders), to: target)
            }
            _ = interceptLinks?.send(.compare(key), to: target)
        case .unregister(let key):
            compare.copyEnded(key)
        default:
            break
        }
    }

    /// The summary table, logged at exit and on SIGUSR1.
    func logCompareSummary(atExit: Bool) {
        guard let compare else { return }
        if atExit { compare.collect(all: true) }
        logger.notice("compare summary (\(compare.settings.mode.rawValue)):\n\(compare.table())")
    }
}
