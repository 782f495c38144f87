import CTCPCopyShims
import Glibc

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

    /// The signals that arrived since the last call.
    func drain() -> [Signal] {
        var signals: [Signal] = []
        var info = signalfd_siginfo()
        while read(descriptor.rawValue, &info, MemoryLayout<signalfd_siginfo>.size)
            == MemoryLayout<signalfd_siginfo>.size
        {
            signals.append(Int32(info.ssi_signo) == SIGUSR1 ? .printCounters : .stop)
        }
        return signals
    }
}
