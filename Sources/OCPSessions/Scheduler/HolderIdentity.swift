/// Who holds a lease, a login reservation or a place in the queue.
///
/// A pid alone lies (pids are reused), so a holder is the pid plus the process's start time
/// (field 22 of `/proc/<pid>/stat`), the boot id and the host name.
public struct HolderIdentity: Sendable, Hashable, Codable {
    public var pid: Int
    /// Clock ticks since boot at which the process started.
    public var startTime: Int
    public var bootID: String
    public var host: String
    /// Shown to people as the holder ("nightly-sync"); never used for decisions.
    public var label: String

    public init(pid: Int, startTime: Int, bootID: String, host: String, label: String) {
        self.pid = pid
        self.startTime = startTime
        self.bootID = bootID
        self.host = host
        self.label = label
    }
}

/// Answers whether a holder process still runs. Injected, so scheduler tests need no processes.
public protocol HolderLiveness: Sendable {
    /// `true` when the holder is alive or cannot be checked from here (another host): the hold time
    /// is then the backstop.
    func isAlive(_ holder: HolderIdentity) -> Bool
}
