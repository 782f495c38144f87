import Glibc
import TCPCopyCore

/// `--secret-file`: the control port's shared secret, read once at start. Trailing whitespace
/// (a final newline) is not part of it.
public enum SecretFile {
    /// Shorter secrets are refused: the HMAC proof is only as strong as the secret.
    public static let minimumLength = 16

    public static func read(path: String) throws(SecretFileError) -> [UInt8] {
        let fd: Int32
        do {
            fd = try systemCall("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            throw SecretFileError(
                description: "--secret-file \(path): cannot read it (\(String(cString: strerror(error.errno))))")
        }
        defer { closeDescriptor(fd) }
        var bytes = readToEnd(fd, limit: 1 << 16)
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
