import ArgumentParser
import Logging
import TCPCopyCore
import TCPCopyIO

/// Options both daemons share for running as a service: detach (`-d`) and a pid file (`-P`).
public struct ServiceOptions: ParsableArguments {
    @Flag(
        name: [.customShort("d"), .customLong("daemon")],
        help: ArgumentHelp(
            "Run in the background (needs -l): the command returns once the daemon is set up, exit 0 "
                + "with its pid, or 1 if it failed to start."))
    public var daemon = false

    @Option(
        name: [.customShort("P"), .customLong("pid-file")],
        help: ArgumentHelp(
            "Write the daemon's pid to this file once it is set up; the file is removed when it exits.",
            valueName: "path"))
    public var pidFile: String?

    @Option(
        help: ArgumentHelp(
            "Serve the counters and histograms in the Prometheus text format at http://ADDRESS:PORT/metrics "
                + "(:PORT for every address), e.g. 127.0.0.1:9100.",
            valueName: "address:port"))
    public var metricsListen: String?

    public init() {}

    public func validate() throws {
        if pidFile?.isEmpty == true {
            throw ValidationError("the pid file path is empty: give a path, e.g. -P /run/tcpcopy.pid")
        }
        _ = try metricsAddress()
    }

    func metricsAddress() throws -> MetricsListenAddress? {
        guard let text = metricsListen else { return nil }
        let parsed = try validated { () throws(ConfigurationError) in try MetricsListenAddress.parse(text) }
        guard let parsed else {
            throw ValidationError(
                "--metrics-listen \"\(text)\" needs ADDRESS:PORT or :PORT, e.g. --metrics-listen 127.0.0.1:9100")
        }
        return parsed
    }

    /// Runs `daemon` as the options say: detached or not, with its pid file, and SIGHUP reopening
    /// the log file.
    func run(_ daemon: some ServiceDaemon, program: String, logFile: String?, logger: Logger) throws {
        if self.daemon && logFile == nil {
            throw ValidationError(
                "-d needs -l FILE: a daemon in the background has no terminal to log to, e.g. "
                    + "-d -l /var/log/\(program).log")
        }
        ReopenRequest.installHandler()
        let pidFile = self.pidFile.map(PidFile.init(path:))
        try pidFile?.checkNotRunning(program: program)
        if let address = try metricsAddress() {
            do {
                daemon.metrics = try MetricsEndpoint(listen: address, program: program)
            } catch {
                throw ValidationError(
                    "cannot serve metrics on \(address): \(error); is the port in use? Choose another "
                        + "--metrics-listen")
            }
        }
        let readiness = self.daemon ? try Daemonizer.detach(program: program, logPath: logFile ?? "") : nil
        daemon.onReady = {
            do {
                try pidFile?.write()
            } catch {
                logger.error("\(error)")
            }
            readiness?.ready()
        }
        defer { pidFile?.remove() }
        try daemon.run()
    }
}
