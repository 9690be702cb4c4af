import Foundation
import Testing
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// The warm path's transaction times, for docs/postgres-design.md ("Measurements"): not a timed
/// assertion (the machine is shared), a measurement run on demand with OCP_SESSIONS_PG_FIGURES=1.
/// It checks what each transaction saw, and prints the medians.
extension PostgresRegistryTests {
    static var measuring: Bool { ProcessInfo.processInfo.environment["OCP_SESSIONS_PG_FIGURES"] == "1" }

    @Test("warm path figures: acquire- and release-shaped transactions, 500 cycles after 100 of warm-up",
          .enabled(if: measuring, "set OCP_SESSIONS_PG_FIGURES=1 to measure"))
    func warmPathFigures() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try open(settings)
        let me = ProcessIdentity.current(label: "figures")
        let now = Date().timeIntervalSince1970
        let session = SessionRecord(id: "s-warm", accessExpiresAt: now + 3_600, refreshExpiresAt: now + 7_200, createdAt: now,
                                    lastUsedAt: now, lastRefreshedAt: now, handedOutUntil: now)
        _ = try registry.write { tx -> Int64 in
            let id = try tx.upsertAccount(account, limit: 5, reserve: 0, now: now).id
            let sealer = registry.sealer
            try tx.insertSession(session, tokens: SealedTokens(
                access: try sealer.seal("access", sessionID: session.id),
                refresh: try sealer.seal("refresh", sessionID: session.id)), accountID: id)
            return id
        }
        var acquire: [Double] = []
        var release: [Double] = []
        var snapshotRead: [Double] = []
        var statements: (acquire: Int, read: Int, release: Int) = (0, 0, 0)
        for cycle in 0..<600 {
            let leaseID = "l-\(cycle)"
            var sent = registry.bridge.statements
            var started = DispatchTime.now().uptimeNanoseconds
            let sealed = try registry.write { tx -> SealedTokens? in
                let record = try tx.upsertAccount(account, limit: 5, reserve: 0, now: now)
                let snapshot = try #require(try tx.snapshot(accountID: record.id))
                #expect(snapshot.sessions.count == 1 && snapshot.leases.isEmpty)
                try tx.insertLease(LeaseRecord(id: leaseID, sessionID: session.id, shared: false, holder: me,
                                               acquiredAt: now, expiresAt: now + 60), accountID: record.id)
                try tx.touchSession(id: session.id, at: now, handedOutUntil: now + 60)
                try tx.appendEvent(EventRecord(at: now, accountID: record.id, kind: .lease, sessionID: session.id, leaseID: leaseID))
                return try tx.sealedTokens(sessionID: session.id)
            }
            let acquired = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            statements.acquire = registry.bridge.statements - sent
            #expect(try registry.sealer.open(try #require(sealed).access, sessionID: session.id) == "access")
            sent = registry.bridge.statements
            started = DispatchTime.now().uptimeNanoseconds
            let leases = try registry.read { tx in try tx.snapshot(accountID: 1)?.leases.map(\.id) }
            let read = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            statements.read = registry.bridge.statements - sent
            sent = registry.bridge.statements
            #expect(leases == [leaseID])
            started = DispatchTime.now().uptimeNanoseconds
            try registry.write { tx in
                try tx.deleteLease(id: leaseID)
                try tx.appendEvent(EventRecord(at: now, accountID: 1, kind: .release, sessionID: session.id, leaseID: leaseID))
            }
            let released = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            statements.release = registry.bridge.statements - sent
            if cycle >= 100 {
                acquire.append(acquired)
                release.append(released)
                snapshotRead.append(read)
            }
        }
        func percentile(_ values: [Double], _ p: Double) -> String {
            let sorted = values.sorted()
            return String(format: "%.2f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
        }
        for (name, values, count) in [("acquire", acquire, statements.acquire), ("read snapshot", snapshotRead, statements.read),
                                      ("release", release, statements.release)] {
            print("warm path figures: \(name) p50 \(percentile(values, 0.5)) ms, p90 \(percentile(values, 0.9)) ms, \(count) statements")
        }
    }
}
