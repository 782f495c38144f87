import CTCPCopyShims
import Glibc
import TCPCopyCore

/// SIGINT, SIGTERM and SIGUSR1 delivered as a readable descriptor, so the event loop handles
/// them in order with everything else (no async-signal-safety worries).
final class SignalSource {
    enum Signal { case stop, printCounters }

    let descriptor: FileDescriptor

    init() throws(SystemCallError) {
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGTERM)
        sigaddset(&mask, SIGUSR1)
        try systemCall("sigprocmask") { sigprocmask(SIG_BLOCK, &mask, nil) }
        // A control peer that vanishes must not kill us with SIGPIPE; writes report EPIPE.
        signal(SIGPIPE, SIG_IGN)
        descriptor = FileDescriptor(
            try systemCall("signalfd") { signalfd(-1, &mask, Int32(SFD_NONBLOCK | SFD_CLOEXEC)) })
    }

    /// Handles the signals that arrived: SIGUSR1 calls `printCounters`. Returns false once
    /// SIGINT or SIGTERM arrived, meaning the daemon should stop.
    func handlePending(printCounters: () -> Void) -> Bool {
        var keepRunning = true
        for signal in drain() {
            switch signal {
            case .stop: keepRunning = false
            case .printCounters: printCounters()
            }
        }
        return keepRunning
    }

    /// The signals that arrived since the last call.
    private func drain() -> [Signal] {
        var signals: [Signal] = []
        var info = signalfd_siginfo()
        let fd = descriptor.rawValue
        // Non-blocking: EAGAIN (nothing left) ends the loop like any failure.
        while (try? systemCall("read(signalfd)", { read(fd, &info, MemoryLayout<signalfd_siginfo>.size) }))
            == MemoryLayout<signalfd_siginfo>.size
        {
            signals.append(Int32(info.ssi_signo) == SIGUSR1 ? .printCounters : .stop)
        }
        return signals
    }
}

/// When the next periodic counter line is due (`--stats-interval`; 0 means never).
struct CounterSchedule {
    let intervalMilliseconds: Int64
    private var last: MonotonicTime

    init(intervalSeconds: Int, now: MonotonicTime) {
        intervalMilliseconds = Int64(intervalSeconds) * 1000
        last = now
    }

    mutating func isDue(now: MonotonicTime) -> Bool {
        guard intervalMilliseconds > 0, now - last >= intervalMilliseconds else { return false }
        last = now
        return true
    }
}
