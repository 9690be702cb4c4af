import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// `SessionPool.oneShotToken` and its one-transaction half `cachedToken` (what `token` runs).
@Suite("One-shot tokens", .serialized)
struct OneShotTokenTests {
    func withPool(
        _ simulator: KeycloakSimulator, maxSessions: Int = 5, _ body: (SessionPool, AccountConfiguration) async throws -> Void
    ) async throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let registry = try SQLiteRegistry(path: dir + "/registry.sqlite", environment: [
            "OCP_SESSIONS_KEY": Data(repeating: 7, count: 32).base64EncodedString(),
        ])
        let pool = SessionPool(registry: registry, connector: KeycloakConnector(environment: [:]))
        let account = AccountConfiguration(
            host: simulator.baseURL, username: "alice", maxSessions: maxSessions, password: .constant("alice-pass"))
        do {
            try await body(pool, account)
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    func state(_ pool: SessionPool, _ account: AccountConfiguration) throws -> (AccountSnapshot, [EventRecord]) {
        try pool.registry.read { tx in
            let id = try #require(try tx.account(account.key)).id
            return (try #require(try tx.snapshot(accountID: id)), try tx.events(since: 0, accountID: id, afterID: nil, limit: 1000))
        }
    }

    @Test("a cached token in one transaction: no lease row left, lease and release logged, handed-out expiry kept")
    func cachedTokenRecordsTheUse() async throws {
        try await exclusively { try await withSimulator({ _ in }) { simulator in
            try await withPool(simulator) { pool, account in
                let options = LeaseOptions(label: "script")
                // Nothing to hand out before the first login: the full path logs in.
                #expect(try pool.cachedToken(account: account, options: options) == nil)
                let first = try await pool.oneShotToken(account: account, options: options)
                #expect(simulator.statistics().logins == 1)
                let (before, eventsBefore) = try state(pool, account)
                let cached = try #require(try pool.cachedToken(account: account, options: options))
                #expect(cached.accessToken == first.accessToken && cached.sessionID == first.sessionID)
                #expect(cached.leaseID != first.leaseID)
                let (after, eventsAfter) = try state(pool, account)
                #expect(after.leases.isEmpty)
                let session = try #require(after.sessions.first)
                #expect(session.handedOutUntil == cached.expiresAt)
                #expect(session.lastUsedAt > (before.sessions.first?.lastUsedAt ?? 0))
                let logged = eventsAfter.dropFirst(eventsBefore.count)
                #expect(logged.map(\.kind) == [.lease, .release])
                #expect(logged.allSatisfy { $0.leaseID == cached.leaseID && $0.detail == "script" && $0.pid == Int(getpid()) })
                #expect(simulator.statistics().logins == 1 && simulator.statistics().refreshes == 0)
            }
        } }
    }

    @Test("no cached token while the only session is leased, for an unmeetable validity, or with a forced refresh")
    func cachedTokenLeavesTheRestToTheFullPath() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 1; $0.accessTokenLifespan = 60 }) { simulator in
            try await withPool(simulator, maxSessions: 1) { pool, account in
                let held = try await pool.acquireLease(account: account, options: LeaseOptions(label: "holder"))
                #expect(try pool.cachedToken(account: account, options: LeaseOptions(label: "t")) == nil)
                await held.release()
                #expect(try pool.cachedToken(account: account, options: LeaseOptions(label: "t")) != nil)
                // Beyond 90% of the lifetime: the full path reports it, as acquireLease does.
                #expect(try pool.cachedToken(account: account, options: LeaseOptions(minValidity: 55, label: "t")) == nil)
                await #expect(throws: OCPSessionsError.self) {
                    _ = try await pool.oneShotToken(account: account, options: LeaseOptions(minValidity: 55, label: "t"))
                }
                // --force-refresh never takes the cached token.
                let forced = try await pool.oneShotToken(account: account, options: LeaseOptions(label: "t", forceRefresh: true))
                #expect(simulator.statistics().refreshes == 1)
                #expect(forced.expiresAt - Date().timeIntervalSince1970 > 50)
                #expect(try state(pool, account).0.leases.isEmpty)
            }
        } }
    }
}
