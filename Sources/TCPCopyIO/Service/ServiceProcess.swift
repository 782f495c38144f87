import CTCPCopyShims
import Glibc
import Logging

/// A daemon that can run as a service: it says when it is set up (`onReady`), then runs until
/// SIGTERM or SIGINT.
public protocol ServiceDaemon: AnyObject {
    var onReady: (() -> Void)? { get set }
    var metrics: MetricsEndpoint? { get set }
    func run() throws
}

extension TCPCopyDaemon: ServiceDaemon {}
extension InterceptDaemon: ServiceDaemon {}

/// SIGHUP: reopen the log file (after logrotate moved it). The handler only records the request;
/// the next line written to the log reopens it (`LogFile.write`).
public enum ReopenRequest {
    /// Installs the handler. Without it SIGHUP would end the process.
    public static func installHandler() { _ = CTCPCopyShims_install_reopen_handler() }

    static func take() -> Bool { CTCPCopyShims_take_reopen_request() != 0 }
}

/// A service start-up problem, said so that the operator knows what to do.
public struct ServiceError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The pid file (`-P`): written once the daemon is set up, removed when it exits, and only if it
/// still names this process. A file naming a live process of the same program means another
/// instance runs: refused.
public final class PidFile {
    public let path: String

    public init(path: String) {
        self.path = path.hasPrefix("/") ? path : Self.workingDirectory() + "/" + path
    }

    /// Refuses to start when the file names a live process of `program`; a stale one is replaced
    /// later by `write`.
    public func checkNotRunning(program: String) throws(ServiceError) {
        guard let pid = Self.pid(in: path), pid != getpid(), Self.exists(pid) else { return }
        let name = readSmallFile("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init) ?? ""
        guard name == program else { return }
        throw ServiceError(
            "\(program) is already running (pid \(pid), from the pid file \(path)); stop it first, or give "
                + "another -P")
    }

    /// Writes this process's pid (to a temporary file renamed over the path, so that a reader never
    /// sees a half-written file).
    public func write() throws(ServiceError) {
        let temporary = path + ".tmp"
        let fd: Int32
        do {
            fd = try systemCall("open") { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        } catch {
            throw ServiceError("cannot write the pid file \(path): \(String(cString: strerror(error.errno)))")
        }
        let text = "\(getpid())\n"
        let written = try? systemCall("write") { text.withCString { Glibc.write(fd, $0, strlen($0)) } }
        closeDescriptor(fd)
        guard written == text.utf8.count, (try? systemCall("rename", { rename(temporary, path) })) != nil else {
            let code = errno
            _ = try? systemCall("unlink") { unlink(temporary) }
            throw ServiceError("cannot write the pid file \(path): \(String(cString: strerror(code)))")
        }
    }

    /// Removes the file if it still names this process.
    public func remove() {
        if Self.pid(in: path) == getpid() { _ = try? systemCall("unlink") { unlink(path) } }
    }

    /// Whether a process `pid` exists (signal 0; EPERM: it exists, as another user's).
    private static func exists(_ pid: pid_t) -> Bool {
        do {
            try systemCall("kill(0)") { kill(pid, 0) }
            return true
        } catch {
            return error.errno == EPERM
        }
    }

    static func pid(in path: String) -> pid_t? {
        readSmallFile(path).flatMap { pid_t($0.split(whereSeparator: \.isWhitespace).first ?? "") }
    }

    static func workingDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
    }
}

/// `-d`: detaches from the terminal the classic way (fork, setsid, fork again, chdir /, standard
/// descriptors to /dev/null). The command that started it waits until the daemon is set up and
/// exits 0 then, printing its pid; or exits 1 if the daemon failed first, so that a script or an
/// init system sees a failed start as a failure.
public enum Daemonizer {
    /// The daemon's end of the start-up pipe: `ready()` releases the waiting command.
    public final class Readiness {
        private var descriptor: Int32

        init(descriptor: Int32) { self.descriptor = descriptor }

        public func ready() {
            guard descriptor >= 0 else { return }
            let message = "\(getpid())\n"
            let fd = descriptor
            // Best effort: if the pipe is gone, the waiting command has gone too.
            _ = try? systemCall("write(readiness)") { message.withCString { Glibc.write(fd, $0, strlen($0)) } }
            closeDescriptor(fd)
            descriptor = -1
        }

        deinit { if descriptor >= 0 { closeDescriptor(descriptor) } }
    }

    /// Returns only in the daemon. Must run before any thread is started.
    public static func detach(program: String, logPath: String) throws(ServiceError) -> Readiness {
        var ends: [Int32] = [0, 0]
        do {
            try systemCall("pipe") { pipe(&ends) }
        } catch {
            throw ServiceError("pipe failed: \(String(cString: strerror(error.errno)))")
        }
        let child: pid_t
        do {
            child = try systemCall("fork") { CTCPCopyShims_fork() }
        } catch {
            throw ServiceError("fork failed: \(String(cString: strerror(error.errno)))")
        }
        if child > 0 {
            closeDescriptor(ends[1])
            waitForStart(program: program, logPath: logPath, pipe: ends[0], firstChild: child)
        }
        // In the child. No thread was started before the fork (see above), so the helper is as
        // safe here as anywhere. A failure of these steps leaves a daemon that still works
        // (with a terminal it cannot lose, or in another directory), so they are best effort.
        closeDescriptor(ends[0])
        _ = try? systemCall("setsid") { setsid() }
        // The session leader forks once more and leaves: the daemon can never reacquire a
        // controlling terminal.
        guard let grandchild = try? systemCall("fork", { CTCPCopyShims_fork() }) else { _exit(1) }
        if grandchild > 0 { _exit(0) }
        _ = try? systemCall("chdir(/)") { chdir("/") }
        if let null = try? systemCall("open(/dev/null)", { open("/dev/null", O_RDWR) }) {
            for fd: Int32 in 0...2 { _ = try? systemCall("dup2") { dup2(null, fd) } }
            if null > 2 { closeDescriptor(null) }
        }
        _ = try? systemCall("fcntl(F_SETFD)") { fcntl(ends[1], F_SETFD, FD_CLOEXEC) }
        return Readiness(descriptor: ends[1])
    }

    private static func waitForStart(program: String, logPath: String, pipe: Int32, firstChild: pid_t) -> Never {
        var status: Int32 = 0
        _ = try? systemCall("waitpid") { waitpid(firstChild, &status, 0) }
        // The child writes its pid and a newline, or nothing before it exits.
        let bytes = readToEnd(pipe, limit: 4096, chunkSize: 64)
        let pid = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
        if let pid, !pid.isEmpty {
            print("\(program) started in the background (pid \(pid)); log: \(logPath)")
            exit(0)
        }
        let message = "\(program) failed to start; its log says why: \(logPath)\n"
        _ = try? systemCall("write(stderr)") { message.withCString { Glibc.write(2, $0, strlen($0)) } }
        exit(1)
    }
}
