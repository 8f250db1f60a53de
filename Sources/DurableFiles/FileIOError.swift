#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which call, on which path, and errno.
public struct FileIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(operation)(\(path)): \(String(cString: strerror(errno)))"
    }
}

extension FileIOError {
    /// Runs a test hook (`DurableFaultInjector`); what it throws becomes the error (EIO)
    /// of the call it precedes, as if that call had failed.
    package static func injected(_ operation: String, _ path: String, _ hook: () throws -> Void) throws(FileIOError) {
        do { try hook() } catch { throw FileIOError(operation: operation, path: path, errno: EIO) }
    }
}
