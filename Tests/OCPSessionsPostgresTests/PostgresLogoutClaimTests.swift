import Foundation
import Testing
import PostgresNIO
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// The logout claimer across hosts (schema pg_0002): a session `logging_out` names its claimer and
/// the claimer's connection lock; the snapshot reports the claimer alive while that lock lives. The
/// registry-level mirror of CrashRecoveryTests' killed logout, with the claimer on another host.
extension PostgresRegistryTests {
    @Test("a logout claimer on another host whose connection dies is seen dead within 2 s: the logout is retried")
    func deadLogoutClaimer() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let claimerHost = try open(settings)
        var strict = settings
        strict.restartGrace = 0
        let observer = try open(strict)
        let scheduler = LeaseScheduler(liveness: observer.liveness)
        // Another host: no /proc check here can see it, only its connection's lock.
        let claimer = HolderIdentity(pid: 1, startTime: 1, bootID: "other-boot", host: "other-host", label: "logout")
        let now = Date().timeIntervalSince1970
        let session = SessionRecord(id: "s-out", accessExpiresAt: now + 300, refreshExpiresAt: now + 1_800, createdAt: now,
                                    lastUsedAt: now, lastRefreshedAt: now, handedOutUntil: now)
        let accountID = try claimerHost.write { tx -> Int64 in
            let id = try tx.upsertAccount(account, limit: 1, reserve: 0, now: now).id
            let sealer = claimerHost.sealer
            try tx.insertSession(session, tokens: SealedTokens(
                access: try sealer.seal("access", sessionID: session.id),
                refresh: try sealer.seal("refresh", sessionID: session.id)), accountID: id)
            try tx.markLoggingOut(sessionID: session.id, claimUntil: now + 30, claimer: claimer)
            return id
        }
        /// One decision as a waiter makes it: housekeeping applied, then the logouts to send.
        func decide() throws -> (changes: [Housekeeping], victims: [String]) {
            try observer.write { tx in
                let snapshot = try #require(try tx.snapshot(accountID: accountID))
                let now = Date().timeIntervalSince1970
                let (changes, tidied) = scheduler.housekeeping(snapshot, now: now)
                for change in changes { try tx.apply(change, accountID: accountID, now: now) }
                return (changes, scheduler.logoutVictims(tidied, now: now))
            }
        }
        // While the claimer's connection lives, its claim stands: no one else logs the session out.
        let live = try decide()
        #expect(live.changes.isEmpty && live.victims.isEmpty)
        let snapshot = try #require(try observer.read { try $0.snapshot(accountID: accountID) })
        #expect(snapshot.sessions.first?.logoutClaimer == claimer)
        // The claimer's backend is cut, as a dead host's would be once TCP gives up.
        let backend = try claimerHost.withBridge { try $0.query("SELECT pg_backend_pid()").rows.first?.decode(Int.self) }
        let cut = Date()
        let terminated = try observer.withBridge {
            try $0.query("SELECT pg_terminate_backend(\(try #require(backend))::integer)").rows.first?.decode(Bool.self)
        }
        #expect(terminated == true)
        var retried = false
        while !retried, Date().timeIntervalSince(cut) < 2 {
            let decision = try decide()
            retried = decision.changes.contains(.releaseLogoutClaim(sessionID: session.id)) && decision.victims == [session.id]
            if !retried { usleep(10_000) }
        }
        #expect(retried, "the dead claimer's logout was not released for a retry within 2 s")
        let after = try #require(try observer.read { try $0.snapshot(accountID: accountID) }?.sessions.first)
        #expect(after.state == .loggingOut && (after.logoutClaimUntil ?? .infinity) <= Date().timeIntervalSince1970)
    }
}
