import Logging
import TCPCopyCore

/// Runs tcpcopy until SIGINT or SIGTERM. (Stub: replaced by the real daemon.)
public struct TCPCopyDaemon {
    public let configuration: TCPCopyConfiguration
    public let logger: Logger
    public init(configuration: TCPCopyConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }
    public func run() throws { logger.info("tcpcopy stub: \(configuration.routes)") }
}

/// Runs intercept until SIGINT or SIGTERM. (Stub: replaced by the real daemon.)
public struct InterceptDaemon {
    public let configuration: InterceptConfiguration
    public let logger: Logger
    public init(configuration: InterceptConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }
    public func run() throws { logger.info("intercept stub: allow \(configuration.allowList)") }
}
