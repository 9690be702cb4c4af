import Foundation
import OCPSessions

/// Holder liveness across hosts: a holder is alive while its registry connection holds the
/// advisory lock recorded on its rows (docs/postgres-design.md, "Holder liveness").
///
/// Each snapshot a `PostgresRegistry` reads records the holders whose lock is gone; the scheduler,
/// deciding right after that snapshot, asks here. A holder on this host and boot is also checked
/// through `/proc`, so an exited process is dead at once. A holder no snapshot has shown dead
/// counts as alive: its lease's hold time stays the backstop.
public final class PostgresHolderLiveness: HolderLiveness, @unchecked Sendable {
    private let lock = NSLock()
    private var dead: Set<HolderIdentity> = []

    public init() {}

    public func isAlive(_ holder: HolderIdentity) -> Bool {
        if holder.host == ProcessIdentity.hostName, !ProcessLiveness().isAlive(holder) { return false }
        return lock.withLock { !dead.contains(holder) }
    }

    /// The holders of the latest snapshot whose lock was gone.
    func record(dead holders: Set<HolderIdentity>) {
        lock.withLock { dead = holders }
    }
}
