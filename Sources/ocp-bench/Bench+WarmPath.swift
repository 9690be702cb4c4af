import Foundation
import OCPSessions

/// Phase 1 (the warm path in one process) and phase 6 (the same on aged registries).
extension Bench {
    static let warmOptions = LeaseOptions(minValidity: 30, waitTimeout: 20, label: "ocp-bench")

    /// Fills `user`'s pool with `sessions` sessions (that many leases held at once, then released),
    /// so the phases that follow run in steady state: ocp-sessions logs in only when every session
    /// is leased, so a pool grows no further than its callers' overlap needs.
    func prewarm(_ user: BenchUser = .ours, sessions: Int = 5) async throws {
        let (_, pool) = try pool(registry: registryPath)
        var account = account(user)
        account.maxSessions = max(sessions, 5)
        try await countingIAM("setup: fill the pool (\(sessions) sessions, \(user.rawValue))") {
            var leases: [Lease] = []
            for _ in 0..<sessions { leases.append(try await pool.acquireLease(account: account, options: Self.warmOptions)) }
            for lease in leases { await lease.release() }
            return leases.count
        }
        await pool.shutdown()
    }

    /// `cycles` acquire + release on `pool`, each timed.
    static func warmCycles(_ pool: SessionPool, account: AccountConfiguration, cycles: Int) async throws -> ([Double], Double) {
        var samples: [Double] = []
        samples.reserveCapacity(cycles)
        let start = Monotonic.now()
        for _ in 0..<cycles {
            let began = Monotonic.now()
            let lease = try await pool.acquireLease(account: account, options: warmOptions)
            await lease.release()
            samples.append(Monotonic.now() - began)
        }
        return (samples, Monotonic.now() - start)
    }

    func measureWarmPath() async throws {
        progress("warm path: \(settings.cycles) acquire+release cycles in one process")
        let (_, pool) = try pool(registry: registryPath)
        _ = try await Self.warmCycles(pool, account: account(.ours), cycles: min(200, settings.cycles))
        try await countingIAM("ocp-sessions warm path, 1 process") {
            let (samples, wall) = try await Self.warmCycles(pool, account: account(.ours), cycles: settings.cycles)
            report.warmPath = Latency(samples: samples, wall: wall)
            return samples.count
        }
        await pool.shutdown()
    }

    /// Phase 1 again on fresh registries holding `level` sessions' worth of history each: per
    /// session a login, 20 leases and releases, 4 refreshes and a logout in the event log (released
    /// leases and logged-out sessions leave no other rows).
    func measureAgeing() async throws {
        for level in settings.ageingLevels {
            progress("ageing: \(level) sessions' worth of history, \(settings.ageingCycles) cycles")
            let path = "\(directory)/aged-\(level).sqlite"
            let (registry, pool) = try pool(registry: path)
            let account = account(.ageing)
            // The first lease logs in and creates the account row the history belongs to.
            try await countingIAM("setup: ageing registry \(level)") {
                let lease = try await pool.acquireLease(account: account, options: Self.warmOptions)
                await lease.release()
                return 1
            }
            let before = try Self.insertHistory(registry, sessions: level)
            let (samples, wall) = try await Self.warmCycles(pool, account: account, cycles: settings.ageingCycles)
            let after = try registry.withDatabase { try $0.queryOne("SELECT COUNT(*) FROM events")?.int(0) ?? 0 }
            report.ageing.append(BenchReport.AgeingRow(
                historySessions: level, eventsBefore: before, eventsAfter: after, latency: Latency(samples: samples, wall: wall)))
            await pool.shutdown()
        }
    }

    /// Writes the history in one transaction, spread over the last 20 days (inside the 30-day
    /// retention, so only the row cap trims it). Returns the events now in the log.
    static func insertHistory(_ registry: SQLiteRegistry, sessions: Int) throws -> Int {
        try registry.withDatabase { db in
            try db.immediateTransaction {
                let accountID = Int64(try db.queryOne("SELECT id FROM accounts WHERE username = ?", [.text(BenchUser.ageing.rawValue)])?.int(0) ?? 1)
                let now = Date().timeIntervalSince1970
                let span = 20 * 86_400.0
                let sql = "INSERT INTO events (at, account_id, kind, session_id, lease_id, pid, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"
                for index in 0..<sessions {
                    let session = UUID().uuidString.lowercased()
                    var at = now - span + span * Double(index) / Double(max(sessions, 1))
                    func event(_ kind: String, lease: String? = nil) throws {
                        at += 0.5
                        try db.run(sql, [.real(at), .integer(accountID), .text(kind), .text(session), .optional(lease),
                                         .integer(40_000 + Int64(index % 1000)), .text("history")])
                    }
                    try event("login")
                    for round in 0..<20 {
                        let lease = UUID().uuidString.lowercased()
                        try event("lease", lease: lease)
                        try event("release", lease: lease)
                        if round % 5 == 4 { try event("refresh") }
                    }
                    try event("logout")
                }
                return try db.queryOne("SELECT COUNT(*) FROM events")?.int(0) ?? 0
            }
        }
    }
}
