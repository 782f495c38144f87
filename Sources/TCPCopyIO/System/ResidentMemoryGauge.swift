import Glibc
import TCPCopyCore

/// This process's resident memory, from /proc/self/statm read through a descriptor kept open.
/// tcpcopy asks every 128 new sessions, over a hundred times a second at full load, and an
/// open, a read into fresh arrays and a close each time showed in its profile. The file is
/// opened at the first reading, so that a daemon that forked before reads its own.
final class ResidentMemoryGauge {
    private var descriptor: Int32 = -1
    private var buffer = [UInt8](repeating: 0, count: 128)
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    deinit {
        if descriptor >= 0 { closeDescriptor(descriptor) }
    }

    /// Resident bytes, or nil if the file cannot be read.
    func residentBytes() -> Int? {
        if descriptor < 0 {
            guard let fd = try? systemCall("open(statm)", { open("/proc/self/statm", O_RDONLY | O_CLOEXEC) })
            else { return nil }
            descriptor = fd
        }
        // The kernel writes the file afresh for each read from offset 0.
        let fd = descriptor
        let read = try? systemCall("pread(statm)") {
            buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        }
        guard let count = read, count > 0 else { return nil }
        let pages = buffer.withUnsafeBytes {
            ResidentPages.parse(statm: UnsafeRawBufferPointer(rebasing: $0[0..<count]))
        }
        return pages.map { $0 * pageSize }
    }
}
