import ArgumentParser
import TCPCopyIO

/// `--secret-file`, shared by both daemons and `tcpcopy doctor`, which must all read the same
/// file the same way.
public struct SecretFileOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "File holding the control port's shared secret (at least 16 bytes; a final newline is ignored), "
                + "proven in the handshake without sending it. Recommended: give both daemons the same file.",
            valueName: "file"))
    public var secretFile: String?

    public init() {}

    /// The secret, or nil without `--secret-file`; a file that cannot serve is a usage error
    /// saying why.
    func read() throws(ValidationError) -> [UInt8]? {
        do {
            return try secretFile.map { path throws(SecretFileError) in try SecretFile.read(path: path) }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
