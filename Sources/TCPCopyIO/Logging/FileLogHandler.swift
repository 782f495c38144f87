import Glibc
import Logging

/// A swift-log handler that appends one line per message to a `LogFile`, laid out as swift-log's
/// `StreamLogHandler` lays out its lines (plus milliseconds):
/// `TIME LEVEL LABEL: KEY=VALUE... [SOURCE] MESSAGE`.
public struct FileLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let file: LogFile

    public init(label: String, file: LogFile, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.file = file
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        var line = "\(LogFile.timestamp()) \(event.level)"
        if !label.isEmpty { line += " \(label)" }
        line += ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += " [\(event.source)] \(event.message)\n"
        file.write(line)
    }
}

/// A log file opened for appending, shared by every handler that writes to it and closed when
/// the last one goes.
///
/// Each line goes out in one `write(2)` on an `O_APPEND` descriptor, so lines from several
/// threads, or from another process appending to the same file, do not interleave; no lock is
/// needed. A failed write is dropped: logging must never stop a daemon.
public final class LogFile: Sendable {
    public let path: String
    private let descriptor: CInt

    /// Opens `path` for appending, creating it (mode 0644) if needed.
    public init(appendingTo path: String) throws(LogFileError) {
        do {
            descriptor = try systemCall("open") {
                open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            }
        } catch {
            throw LogFileError(path: path, errno: error.errno)
        }
        // Absolute, so that reopening still finds it after a daemon's chdir("/").
        self.path = path.hasPrefix("/") ? path : Self.workingDirectory() + "/" + path
    }

    deinit { closeDescriptor(descriptor) }

    /// Opens the path again and puts the new file in place of the old one under the same
    /// descriptor (dup2: a line being written goes wholly to one or the other). After SIGHUP,
    /// once logrotate has moved the file away. Returns false, keeping the old file, when the
    /// path cannot be opened.
    @discardableResult
    public func reopen() -> Bool {
        guard let fresh = try? systemCall("open", { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) })
        else { return false }
        defer { closeDescriptor(fresh) }
        let target = descriptor
        return (try? systemCall("dup2") { dup2(fresh, target) }) != nil
    }

    private static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
    }

    /// Appends `text`, retrying interrupted and short writes. A pending SIGHUP (`ReopenRequest`)
    /// reopens the file first.
    public func write(_ text: String) {
        if ReopenRequest.take() { reopen() }
        var text = text
        text.withUTF8 { bytes in
            guard let start = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let remaining = bytes.count - offset
                let written = try? systemCall("write") {
                    Glibc.write(descriptor, start + offset, remaining)
                }
                guard let written, written > 0 else { return }
                offset += written
            }
        }
    }

    /// Local time as `2024-05-01T12:34:56.789+0200`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var local = tm()
        guard localtime_r(&now.tv_sec, &local) != nil else { return "<unknown time>" }
        var date = [CChar](repeating: 0, count: 32)
        var zone = [CChar](repeating: 0, count: 8)
        guard strftime(&date, date.count, "%Y-%m-%dT%H:%M:%S", &local) > 0,
            strftime(&zone, zone.count, "%z", &local) > 0
        else { return "<unknown time>" }
        let milliseconds = Int(now.tv_nsec) / 1_000_000
        let fraction = milliseconds < 10 ? "00" : milliseconds < 100 ? "0" : ""
        return String(decoding: date.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
            + ".\(fraction)\(milliseconds)"
            + String(decoding: zone.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
    }
}

/// A log file could not be opened; says which and why.
public struct LogFileError: Error, CustomStringConvertible {
    public let path: String
    public let errno: CInt

    public var description: String {
        "cannot open log file \"\(path)\": \(String(cString: strerror(errno))); "
            + "check that its directory exists and is writable, or leave out -l to log to "
            + "standard error"
    }
}
