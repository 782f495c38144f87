import Glibc

/// An owned file descriptor: closed exactly once, when its owner lets go of it.
public final class FileDescriptor {
    public let rawValue: Int32

    init(_ rawValue: Int32) { self.rawValue = rawValue }

    deinit { closeDescriptor(rawValue) }
}
