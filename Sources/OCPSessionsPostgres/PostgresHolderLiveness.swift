import Foundation
import OCPSessions

/// Holder liveness across hosts: a holder is alive while its registry connection holds the
/// advisory lock recorded on its rows (docs/postgres-design.md, "Holder liveness").
///
/// Each snapshot a `PostgresRegistry` reads records the holders whose lock is gone; the scheduler,
/// deciding right after that snapshot, asks here. A holder of this host id and boot is also
/// checked through `/proc`, so an exited process is dead at once; any other holder (another host
/// id, or this host name under another boot: another machine) by its lock alone. A holder no
/// snapshot has shown dead counts as alive: its lease's hold time stays the backstop.
public final class PostgresHolderLiveness: HolderLiveness, @unchecked Sendable {
    private let lock = NSLock()
    private var dead: Set<HolderIdentity> = []

    public init() {}

    public func isAlive(_ holder: HolderIdentity) -> Bool {
        // Only a holder under this kernel (same host id and boot) can be judged by `/proc`; any
        // other, whatever boot id it reports, by its lock alone.
        if ProcessIdentity.isLocal(holder), !ProcessLiveness().isAlive(holder) { return false }
        return lock.withLock { !dead.contains(holder) }
    }

    /// The holders of the latest snapshot whose lock was gone.
    func record(dead holders: Set<HolderIdentity>) {
        lock.withLock { dead = holders }
    }
}
