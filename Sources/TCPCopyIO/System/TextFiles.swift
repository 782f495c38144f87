import Glibc

// Whole-file reads and writes for the commands that are not daemons (`tcpcopy report`): with
// these the executables import no Foundation, whose full form (CoreFoundation, ICU) would be
// linked into both daemons and started with them.

/// The whole of the file at `path`, as UTF-8 (invalid bytes replaced).
public func readTextFile(_ path: String) throws(SystemCallError) -> String {
    let fd = try systemCall("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
    defer { closeDescriptor(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = try systemCall("read(\(path))") { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Writes `text` to `path` through a temporary file renamed over it, so that a reader never
/// sees half a file and a failed write leaves the old one.
public func writeTextFile(_ path: String, _ text: String) throws(SystemCallError) {
    let temporary = "\(path).tmp-\(getpid())"
    let fd = try systemCall("open(\(temporary))") {
        open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }
    do {
        try writeAll(fd, text, name: temporary)
    } catch {
        closeDescriptor(fd)
        unlink(temporary)
        throw error
    }
    do {
        try systemCall("close(\(temporary))") { close(fd) }
        try systemCall("rename(\(temporary), \(path))") { rename(temporary, path) }
    } catch {
        unlink(temporary)
        throw error
    }
}

/// Writes `text` to standard output; a failed write (a closed pipe) is not reported.
public func writeStandardOutput(_ text: String) {
    try? writeAll(STDOUT_FILENO, text, name: "stdout")
}

/// Writes `text` to standard error; a failed write is not reported.
public func writeStandardError(_ text: String) {
    try? writeAll(STDERR_FILENO, text, name: "stderr")
}

private func writeAll(_ fd: Int32, _ text: String, name: String) throws(SystemCallError) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        offset += try systemCall("write(\(name))") {
            bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        }
    }
}
