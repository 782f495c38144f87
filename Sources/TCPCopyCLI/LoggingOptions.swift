import ArgumentParser
import Logging
import TCPCopyCore
import TCPCopyIO

/// Options both daemons share: where the log goes, how much of it, and how often the counters
/// are written to it.
public struct LoggingOptions: ParsableArguments {
    @Option(
        name: [.customShort("l"), .customLong("log-file")],
        help: ArgumentHelp(
            "Append the log to this file instead of standard error.", valueName: "path"))
    public var logFile: String?

    @Option(help: "Least severe messages written to the log.")
    public var logLevel: LogLevel = .info

    // Numbers parse unconditionally, so that "-n -1" reaches the range check and its message
    // rather than failing as a missing value.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds between counter lines in the log, "
                + "\(NumericSetting.statsInterval.rangeDescription); 0 writes them only at exit "
                + "(default: 0).",
            valueName: "seconds"),
        transform: { try ConfigurationParser.integer($0, for: .statsInterval) })
    public var statsInterval: Int = 0

    public init() {}

    public func validate() throws {
        if logFile?.isEmpty == true {
            throw ValidationError(
                "the log file path is empty: give a path, e.g. -l /var/log/tcpcopy.log")
        }
    }

    /// Installs the log backend for the whole process (only once: swift-log allows one
    /// bootstrap) and returns the daemon's logger.
    func bootstrap(label: String) throws -> Logger {
        let level = logLevel.level
        if let path = logFile {
            let file = try LogFile(appendingTo: path)
            LoggingSystem.bootstrap { label in
                var handler = FileLogHandler(label: label, file: file)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: label)
    }
}

/// The swift-log levels, spelled as `--log-level` takes them.
public enum LogLevel: String, CaseIterable, Sendable, ExpressibleByArgument {
    case trace, debug, info, notice, warning, error, critical

    public var level: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
