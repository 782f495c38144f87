import CTCPCopyShims
import Glibc
import TCPCopyCore

/// A minimal epoll reactor: one thread, level-triggered, each descriptor registered with a
/// token the daemon chooses. Timers are the daemon's business: `wait` takes a timeout. Under
/// load, `batching` spaces the wake-ups (see `WakeupWindow`).
final class EventLoop {
    struct Event {
        var token: UInt64
        var readable: Bool
        var writable: Bool
        /// Error or hang-up: the descriptor should be read (to learn why) and closed.
        var failed: Bool
    }

    private let epoll: FileDescriptor
    private var tokens = [UInt64](repeating: 0, count: 64)
    private var events = [UInt32](repeating: 0, count: 64)
    /// The interest set of each registered descriptor, so that `modify` makes no system call
    /// when nothing changes (the daemons call it for every link on every loop turn).
    private var interest: [Int32: (mask: UInt32, token: UInt64)] = [:]
    /// Off (0) unless the daemon sets it from `--batch-window`.
    var batching = WakeupWindow(microseconds: 0)

    init() throws(SystemCallError) {
        epoll = FileDescriptor(try systemCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
    }

    func add(_ fd: Int32, token: UInt64, writable: Bool = false) throws(SystemCallError) {
        try control(EPOLL_CTL_ADD, fd, token: token, writable: writable, name: "epoll_ctl(ADD)")
    }

    func modify(_ fd: Int32, token: UInt64, writable: Bool) throws(SystemCallError) {
        try control(EPOLL_CTL_MOD, fd, token: token, writable: writable, name: "epoll_ctl(MOD)")
    }

    func remove(_ fd: Int32) {
        interest[fd] = nil
        _ = CTCPCopyShims_epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd, 0, 0)
    }

    private func control(_ op: Int32, _ fd: Int32, token: UInt64, writable: Bool, name: String) throws(SystemCallError)
    {
        var mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        if writable { mask |= EPOLLOUT.rawValue }
        if op == EPOLL_CTL_MOD, let current = interest[fd], current == (mask, token) { return }
        try systemCall(name) { CTCPCopyShims_epoll_ctl(epoll.rawValue, op, fd, mask, token) }
        interest[fd] = (mask, token)
    }

    /// Waits up to `timeoutMilliseconds` and returns the ready descriptors. When the last
    /// wake-up was less than a batching window ago, sleeps out the window first, unless
    /// `urgent` (the caller waits for an answer that lets more work go).
    func wait(timeoutMilliseconds: Int32, urgent: Bool = false) throws(SystemCallError) -> [Event] {
        if batching.microseconds > 0 && !urgent {
            let pause = batching.pause(atMicroseconds: monotonicMicroseconds())
            if pause > 0 { sleepMicroseconds(pause) }
        }
        let count: Int32
        do {
            count = try systemCall("epoll_wait") {
                CTCPCopyShims_epoll_wait(epoll.rawValue, &tokens, &events, 64, timeoutMilliseconds)
            }
        }
        if count > 0 && batching.microseconds > 0 { batching.woke(atMicroseconds: monotonicMicroseconds()) }
        return (0..<Int(count)).map { i in
            let mask = events[i]
            return Event(
                token: tokens[i],
                readable: mask & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                writable: mask & EPOLLOUT.rawValue != 0,
                failed: mask & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0)
        }
    }
}
