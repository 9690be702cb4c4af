import Foundation

/// A value guarded by a lock.
///
/// `NSLock` rather than `Synchronization.Mutex` because the package still supports macOS 14, and
/// rather than NIO's lock box because the target does not depend on `NIOConcurrencyHelpers`.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
