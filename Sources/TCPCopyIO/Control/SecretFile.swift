import Glibc
import TCPCopyCore

/// `--secret-file`: the control port's shared secret, read once at start. Trailing whitespace
/// (a final newline) is not part of it.
public enum SecretFile {
    /// Shorter secrets are refused: the HMAC proof is only as strong as the secret.
    public static let minimumLength = 16

    public static func read(path: String) throws(SecretFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SecretFileError(
                description: "--secret-file \(path): cannot read it (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard bytes.count >= minimumLength else {
            throw SecretFileError(
                description:
                    "--secret-file \(path): the secret must be at least \(minimumLength) bytes; make one with: head -c 32 /dev/urandom | base64 > \(path)"
            )
        }
        return bytes
    }
}

/// Why `--secret-file` cannot be used; says what to do.
public struct SecretFileError: Error, CustomStringConvertible {
    public let description: String
}
