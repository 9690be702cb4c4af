import KeycloakSimulator
import Testing

@Suite("Simulator session limiter and brute force")
struct SimulatorLimiterTests {
    @Test("deny, Keycloak 23+: 403 JSON with Accept application/json, HTML otherwise")
    func denyKeycloak23() async throws {
        try await withSimTestServer({ $0.sessionLimit = 2 }) { simulator, realm in
            _ = try await realm.tokens()
            _ = try await realm.tokens()
            let denied = try await realm.login()
            #expect(denied.status == 403)
            #expect(denied.json?.count == 1)
            #expect(denied.string("error") == "There are too many sessions")
            let html = try await realm.login(headers: [("Accept", "*/*")])
            #expect(html.status == 403)
            #expect(html.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(html.text.contains("There are too many sessions"))
            let statistics = simulator.statistics()
            #expect(statistics.denials == 2)
            #expect(statistics.highWaterMark["alice"] == 2)
            #expect(statistics.currentSessions["alice"] == 2)
        }
    }

    @Test("deny, Keycloak 18-22: 401 generic_authentication_error")
    func denyKeycloak18() async throws {
        try await withSimTestServer({
            $0.sessionLimit = 1
            $0.denialFormat = .keycloak18
        }) { _, realm in
            _ = try await realm.tokens()
            let denied = try await realm.login()
            #expect(denied.status == 401)
            #expect(denied.oauthError == ["generic_authentication_error", "sessionLimitExceeded"])
        }
    }

    @Test("deny, Keycloak 17: 500 unknown_error")
    func denyKeycloak17() async throws {
        try await withSimTestServer({
            $0.sessionLimit = 1
            $0.denialFormat = .keycloak17
        }) { _, realm in
            _ = try await realm.tokens()
            let denied = try await realm.login()
            #expect(denied.status == 500)
            #expect(denied.string("error") == "unknown_error")
        }
    }

    @Test("terminate oldest evicts the least recently refreshed, leaving limit - 1")
    func terminateOldest() async throws {
        try await withSimTestServer({
            $0.sessionLimit = 3
            $0.limiterBehavior = .terminateOldest
        }) { simulator, realm in
            let first = try await realm.tokens()
            let second = try await realm.tokens()
            let third = try await realm.tokens()
            // Refreshing the first makes the second the least recently used.
            #expect(try await realm.refresh(first.refresh).status == 200)
            let fourth = try await realm.tokens()
            let live = Set(simulator.liveSessions(username: "alice").map(\.id))
            #expect(live == [first.sessionState, third.sessionState, fourth.sessionState])
            #expect(try await realm.refresh(second.refresh).oauthError == ["invalid_grant", "Session not active"])
            // Evicted sessions' access tokens stay valid until they expire … except here, where
            // the protected endpoint checks the session, as a resource server that asks would.
            #expect(try await realm.protected(second.access).status == 401)
            // Lowering the limit to 2 evicts two at the next login.
            simulator.setSessionLimit(2, behavior: .terminateOldest)
            _ = try await realm.tokens()
            #expect(simulator.liveSessions(username: "alice").count == 2)
            let statistics = simulator.statistics()
            #expect(statistics.terminations == 3)
            #expect(statistics.highWaterMark["alice"] == 3)
            #expect(statistics.denials == 0)
        }
    }

    @Test("limits count sessions of all clients, foreign ones included, per user")
    func foreignSessionsCount() async throws {
        try await withSimTestServer({
            $0.sessionLimit = 3
            $0.users = ["alice": "alice-pass", "bob": "bob-pass"]
        }) { simulator, realm in
            let foreign = simulator.createForeignSessions(username: "alice", count: 2)
            #expect(foreign.count == 2)
            #expect(simulator.liveSessions(username: "alice").map(\.clientID) == ["other-tool", "other-tool"])
            let first = try await realm.login()
            #expect(first.status == 200)
            #expect(try await realm.login().status == 403)
            #expect(try await realm.login(username: "bob", password: "bob-pass").status == 200)
            simulator.setSessionLimit(nil, behavior: .deny)
            #expect(try await realm.login().status == 200)
            let statistics = simulator.statistics()
            #expect(statistics.highWaterMark == ["alice": 4, "bob": 1])
            #expect(statistics.currentSessions == ["alice": 4, "bob": 1])
        }
    }

    @Test("many parallel logins never pass the limit")
    func parallelLoginsRespectLimit() async throws {
        try await withSimTestServer({ $0.sessionLimit = 5 }) { simulator, realm in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<24 { group.addTask { try await realm.login().status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 5)
            #expect(statuses.filter { $0 == 403 }.count == 19)
            let statistics = simulator.statistics()
            #expect(statistics.highWaterMark["alice"] == 5)
            #expect(statistics.logins == 5 && statistics.denials == 19 && statistics.loginAttempts == 24)
        }
    }

    @Test("brute force: failures lock the user, then even the right password fails; success resets")
    func bruteForceLockout() async throws {
        try await withSimTestServer({ $0.bruteForce = BruteForce(failureFactor: 3, lockoutSeconds: 0.5) }) {
            simulator, realm in
            #expect(try await realm.login(password: "wrong").status == 401)
            #expect(try await realm.login(password: "wrong").status == 401)
            // A success resets the count …
            #expect(try await realm.login().status == 200)
            for _ in 0..<3 { #expect(try await realm.login(password: "wrong").status == 401) }
            // … and three consecutive failures lock.
            let locked = try await realm.login()
            #expect(locked.status == 401)
            #expect(locked.oauthError == ["invalid_grant", "Invalid user credentials"])
            #expect(simulator.statistics().lockedOutAttempts == 1)
            try await Task.sleep(for: .milliseconds(550))
            #expect(try await realm.login().status == 200)
        }
    }

    @Test("limiter denials count as brute-force failures (#44474)")
    func denialsLockTheUser() async throws {
        try await withSimTestServer({
            $0.sessionLimit = 1
            $0.bruteForce = BruteForce(failureFactor: 2, lockoutSeconds: 30)
        }) { simulator, realm in
            let login = try await realm.tokens()
            #expect(try await realm.login().status == 403)
            #expect(try await realm.login().status == 403)
            #expect(try await realm.logout(login.refresh).status == 204)
            // A slot is free now, but the user is locked out.
            let locked = try await realm.login()
            #expect(locked.status == 401)
            #expect(locked.oauthError == ["invalid_grant", "Invalid user credentials"])
            let statistics = simulator.statistics()
            #expect(statistics.denials == 2 && statistics.lockedOutAttempts == 1)
        }
    }
}
