import ArgumentParser
import TCPCopyCore

extension ValidationError {
    /// Carries a configuration error to the user as it is: its description already names the
    /// bad text and shows a correct value.
    init(_ error: ConfigurationError) { self.init(error.description) }
}

/// Runs a core parser, turning its error into a `ValidationError` so that the command prints
/// it with the usage, as it does for its own checks.
func validated<T>(_ parse: () throws(ConfigurationError) -> T) throws(ValidationError) -> T {
    do { return try parse() } catch { throw ValidationError(error) }
}
