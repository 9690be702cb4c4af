import KeycloakSimulator
import Testing

@Suite("Simulator offline sessions")
struct SimulatorOfflineTests {
    @Test("offline_access: an offline session, refresh_expires_in 0, an Offline refresh token without exp")
    func offlineLogin() async throws {
        try await withSimTestServer { simulator, realm in
            let response = try await realm.login(scope: "openid offline_access")
            #expect(response.status == 200)
            #expect(response.number("refresh_expires_in") == 0)
            #expect(response.string("scope") == "openid profile email offline_access")
            let tokens = try #require(SimTestTokens(response))
            let refresh = try #require(simTestClaims(tokens.refresh))
            #expect(refresh["typ"] as? String == "Offline")
            #expect(refresh["exp"] == nil)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(simulator.offlineSessions(username: "alice").map(\.id) == [tokens.sessionState])

            let refreshed = try await realm.refresh(tokens.refresh)
            #expect(refreshed.status == 200)
            #expect(refreshed.string("session_state") == tokens.sessionState)
            #expect(simTestClaims(refreshed.string("refresh_token") ?? "")?["typ"] as? String == "Offline")
            #expect(try await realm.protected(tokens.access).status == 200)

            // Offline sessions live in the database: a restart keeps them.
            simulator.restart()
            let next = try #require(SimTestTokens(refreshed))
            #expect(try await realm.refresh(next.refresh).status == 200)

            #expect(try await realm.logout(next.refresh).status == 204)
            #expect(simulator.offlineSessions(username: "alice").isEmpty)
            #expect(
                try await realm.refresh(next.refresh).oauthError == ["invalid_grant", "Offline user session not found"])
            #expect(simulator.statistics().highWaterMark["alice", default: 0] == 0)
        }
    }

    @Test("the limiter counts online sessions only, but also refuses offline logins")
    func limiterAndOffline() async throws {
        try await withSimTestServer({ $0.sessionLimit = 1 }) { _, realm in
            let offline = try await realm.login(scope: "offline_access")
            let online = try await realm.login()
            let denied = try await realm.login(scope: "offline_access")
            #expect([offline.status, online.status, denied.status] == [200, 200, 403])
        }
    }

    @Test("an idle offline session ends: Offline session not active")
    func offlineIdle() async throws {
        try await withSimTestServer({ $0.offlineSessionIdle = 0.2 }) { simulator, realm in
            let tokens = try await realm.tokens(scope: "offline_access")
            try await Task.sleep(for: .milliseconds(300))
            #expect(
                try await realm.refresh(tokens.refresh).oauthError == ["invalid_grant", "Offline session not active"])
            #expect(simulator.offlineSessions(username: "alice").isEmpty)
        }
    }
}
