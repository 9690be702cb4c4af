import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// The library API in one process against the simulator: reuse, replacement of a killed session,
/// waiting, errors.
@Suite("Lease lifecycle through the library", .serialized)
struct LeaseLifecycleTests {
    /// A pool on a fresh registry for `simulator`, shut down after `body`.
    func withPool<T>(
        _ simulator: KeycloakSimulator, maxSessions: Int = 5, password: String = "alice-pass",
        _ body: (SessionPool, AccountConfiguration) async throws -> T
    ) async throws -> T {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let registry = try SQLiteRegistry(path: dir + "/registry.sqlite", environment: [
            "OCP_SESSIONS_KEY": Data(repeating: 9, count: 32).base64EncodedString(),
        ])
        let pool = SessionPool(registry: registry, connector: KeycloakConnector(environment: [:]))
        let account = AccountConfiguration(
            host: simulator.baseURL, username: "alice", maxSessions: maxSessions, password: .constant(password))
        do {
            let value = try await body(pool, account)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    @Test("a released session is reused: ten leases, one login")
    func reuse() async throws {
        try await exclusively { try await withSimulator({ _ in }) { simulator in
            try await withPool(simulator) { pool, account in
                var sessions = Set<String>()
                for _ in 0..<10 {
                    let token = try await pool.withLease(account: account, options: LeaseOptions(label: "test")) { lease in
                        sessions.insert(lease.sessionID)
                        return lease.accessToken
                    }
                    #expect(!token.isEmpty)
                }
                #expect(sessions.count == 1)
                #expect(simulator.statistics().logins == 1)
            }
        } }
    }

    @Test("a session the IAM killed is replaced on the next refresh, without an error")
    func killedSessionIsReplaced() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 5 }) { simulator in
            try await withPool(simulator) { pool, account in
                let lease = try await pool.acquireLease(account: account, options: LeaseOptions(label: "test"))
                let first = lease.sessionID
                simulator.killSession(id: first)
                let token = try await lease.token(forceRefresh: true)
                #expect(!token.isEmpty)
                #expect(lease.sessionID != first)
                #expect(lease.id == lease.id)
                await lease.release()
                let stats = simulator.statistics()
                #expect(stats.logins == 2)
                #expect(stats.refreshErrors["Session not active", default: 0] == 1)
                #expect(Set(simulator.liveSessions(username: "alice").map(\.id)) == [lease.sessionID])
            }
        } }
    }

    @Test("at the limit a caller waits, then fails naming who holds the sessions")
    func waitTimeoutNamesHolders() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 1 }) { simulator in
            try await withPool(simulator, maxSessions: 1) { pool, account in
                let held = try await pool.acquireLease(account: account, options: LeaseOptions(label: "nightly-sync"))
                let started = ContinuousClock.now
                do {
                    _ = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 0.3, label: "second"))
                    Issue.record("a second exclusive lease was handed out at limit 1")
                } catch let error as OCPSessionsError {
                    #expect(error.kind == .timedOut)
                    #expect(error.exitCode == 75)
                    #expect(error.message.contains("all 1 sessions for alice@master are in use"))
                    #expect(error.message.contains("'nightly-sync' pid \(getpid())"))
                    #expect(error.message.contains("waited 0s"))
                }
                #expect(ContinuousClock.now - started >= .milliseconds(300))
                await held.release()
                // Released: the next caller gets the same session at once.
                let next = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 1, label: "third"))
                #expect(next.sessionID == held.sessionID)
                await next.release()
                #expect(simulator.statistics().logins == 1)
            }
        } }
    }

    @Test("shared leases sit on one session; an exclusive one waits for them")
    func sharedMode() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 1 }) { simulator in
            try await withPool(simulator, maxSessions: 1) { pool, account in
                let a = try await pool.acquireLease(account: account, options: LeaseOptions(label: "a", shared: true))
                let b = try await pool.acquireLease(account: account, options: LeaseOptions(label: "b", shared: true))
                #expect(a.sessionID == b.sessionID)
                await #expect(throws: OCPSessionsError.self) {
                    try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 0.2, label: "c"))
                }
                await a.release()
                await b.release()
                let c = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 1, label: "c"))
                await c.release()
                #expect(simulator.statistics().logins == 1)
            }
        } }
    }

    @Test("a minimum validity longer than the IAM's token lifetime fails as configuration")
    func unmeetableValidity() async throws {
        try await exclusively { try await withSimulator({ $0.accessTokenLifespan = 10 }) { simulator in
            try await withPool(simulator) { pool, account in
                do {
                    _ = try await pool.acquireLease(account: account, options: LeaseOptions(minValidity: 20, label: "t"))
                    Issue.record("an unmeetable validity was accepted")
                } catch let error as OCPSessionsError {
                    #expect(error.exitCode == 78)
                    #expect(error.message.contains("cannot be met"))
                    #expect(error.message.contains("10s"))
                }
                // The session it logged in for is kept for later callers, not leaked.
                let lease = try await pool.acquireLease(account: account, options: LeaseOptions(minValidity: 5, label: "t"))
                await lease.release()
                #expect(simulator.statistics().logins == 1)
            }
        } }
    }

    @Test("a wrong password fails at once with the credentials kind, and is tried once")
    func wrongPassword() async throws {
        try await exclusively { try await withSimulator({ _ in }) { simulator in
            try await withPool(simulator, password: "wrong") { pool, account in
                do {
                    _ = try await pool.acquireLease(account: account, options: LeaseOptions(label: "t"))
                    Issue.record("logged in with a wrong password")
                } catch let error as OCPSessionsError {
                    #expect(error.exitCode == 77)
                    #expect(!error.message.contains("wrong"))
                }
                #expect(simulator.statistics().loginAttempts == 1)
            }
        } }
    }

    @Test("sessions unknown to the registry, counted through the account API: no login refused")
    func foreignSessionsCounted() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 2 }) { simulator in
            simulator.createForeignSessions(username: "alice", count: 1)
            try await withPool(simulator, maxSessions: 2) { pool, account in
                let first = try await pool.acquireLease(account: account, options: LeaseOptions(label: "one"))
                // Our limit says 2; the account API shows the foreign session holding the other slot.
                for _ in 0..<3 {
                    await #expect(throws: OCPSessionsError.self) {
                        try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 0.3, label: "more"))
                    }
                }
                #expect(simulator.statistics().denials == 0)
                #expect(simulator.statistics().logins == 1)
                let status = try pool.status(account: account.key).accounts.first
                #expect(status?.effectiveCapacity == 1)
                await first.release()
                let again = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 1, label: "again"))
                #expect(again.sessionID == first.sessionID)
                await again.release()
                // Never ended automatically.
                #expect(simulator.liveSessions(username: "alice").count == 2)
            }
        } }
    }

    @Test("sessions unknown to the registry, no account roles: one refused login, then callers wait for our own sessions")
    func foreignSessionsDeny() async throws {
        try await exclusively { try await withSimulator({ $0.sessionLimit = 2; $0.accountRoles = false }) { simulator in
            simulator.createForeignSessions(username: "alice", count: 1)
            try await withPool(simulator, maxSessions: 2) { pool, account in
                let first = try await pool.acquireLease(account: account, options: LeaseOptions(label: "one"))
                // Our limit says 2, but the foreign session holds the other slot: the IAM refuses.
                do {
                    _ = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 0.5, label: "two"))
                    Issue.record("got a second session past the IAM's limit")
                } catch let error as OCPSessionsError {
                    #expect(error.kind == .timedOut)
                }
                // More callers within the minute: no further login attempt reaches the IAM.
                for _ in 0..<3 {
                    await #expect(throws: OCPSessionsError.self) {
                        try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 0.2, label: "more"))
                    }
                }
                #expect(simulator.statistics().denials == 1)
                await first.release()
                let again = try await pool.acquireLease(account: account, options: LeaseOptions(waitTimeout: 1, label: "again"))
                #expect(again.sessionID == first.sessionID)
                await again.release()
                #expect(simulator.statistics().denials == 1)
            }
        } }
    }
}

/// The README's five lines, against the default registry (`OCP_SESSIONS_REGISTRY`).
@Suite("acquireLease() on the default registry")
struct DefaultPoolTests {
    @Test("the top-level acquireLease reuses one session through DefaultPool")
    func readmeLibraryExample() async throws {
        let dir = TestPaths.temporaryDirectory("ocp-default")
        defer { TestPaths.remove(dir) }
        // The default pool reads its path once, on first use; no other test uses it.
        setenv("OCP_SESSIONS_REGISTRY", dir + "/registry.sqlite", 1)
        try await exclusively { try await withSimulator({ _ in }) { simulator in
            let account = AccountConfiguration(host: simulator.baseURL, username: "alice", password: .constant("alice-pass"))
            for _ in 0..<3 {
                let lease = try await acquireLease(account: account, options: LeaseOptions(minValidity: 60))
                let token = try await lease.token()
                #expect(try await SimTestRealm(simulator).protected(token).status == 200)
                await lease.release()
            }
            #expect(simulator.statistics().logins == 1)
            #expect(FileManager.default.fileExists(atPath: dir + "/registry.sqlite"))
            await DefaultPool.shutdown()
        } }
    }
}
