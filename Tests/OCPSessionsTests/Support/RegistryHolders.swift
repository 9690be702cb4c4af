import Foundation
import OCPSessions

/// Which rows of the registry each holder process owns, read with plain SELECTs (the test never
/// writes to the registry it watches): leases, refresh claims, login reservations and waiters.
struct RegistryHolders {
    /// A row owned by a process, by id (lease id or login id).
    struct Owned: Hashable {
        var id: String
        var pid: Int
        var start: Int
    }

    var leases: [Owned] = []
    /// Lease ids that hold a session's refresh claim: their holder is refreshing.
    var refreshing: Set<String> = []
    var logins: [Owned] = []
    var waiters: [Owned] = []
    /// Sessions being logged out, by the process whose logout claim holds.
    var loggingOut: [Owned] = []
    var sessions = 0

    /// One consistent read of the whole file.
    static func read(_ db: Database) throws -> RegistryHolders {
        try db.readTransaction {
            var holders = RegistryHolders()
            func owned(_ sql: String) throws -> [Owned] {
                try db.query(sql).map { Owned(id: $0.string(0) ?? "", pid: $0.int(1) ?? 0, start: $0.int(2) ?? 0) }
            }
            holders.leases = try owned("SELECT id, holder_pid, holder_start FROM leases")
            holders.logins = try owned("SELECT id, holder_pid, holder_start FROM logins")
            holders.waiters = try owned("SELECT CAST(ticket AS TEXT), holder_pid, holder_start FROM waiters")
            holders.refreshing = Set(try db.query("SELECT refresh_claim FROM sessions WHERE refresh_claim IS NOT NULL")
                .compactMap { $0.string(0) })
            holders.loggingOut = try owned("""
                SELECT id, logout_claim_pid, logout_claim_start FROM sessions
                WHERE state = 'logging_out' AND logout_claim_pid IS NOT NULL
                """)
            holders.sessions = try db.queryOne("SELECT count(*) FROM sessions")?.int(0) ?? 0
            return holders
        }
    }

    /// What the process `pid` was doing, as far as its registry rows tell.
    func phase(of pid: Int) -> KillPhase {
        if logins.contains(where: { $0.pid == pid }) { return .loggingIn }
        let held = leases.filter { $0.pid == pid }
        if held.contains(where: { refreshing.contains($0.id) }) { return .refreshing }
        if !held.isEmpty { return .holding }
        if waiters.contains(where: { $0.pid == pid }) { return .waiting }
        if loggingOut.contains(where: { $0.pid == pid }) { return .loggingOut }
        return .elsewhere
    }
}

/// Where a kill landed, from the registry rows of the killed process.
enum KillPhase: String, CaseIterable, Sendable {
    /// A login reservation of its own: the password grant was in flight.
    case loggingIn = "logging in"
    /// A lease whose session's refresh claim it held: the refresh grant was in flight.
    case refreshing
    /// A lease: it was using the token (the protected call or the hold).
    case holding = "holding a lease"
    /// A waiter ticket: queued at the limit.
    case waiting
    /// A logout claim: the logout request was in flight.
    case loggingOut = "logging out"
    /// No row: starting up or between cycles.
    case elsewhere
}
