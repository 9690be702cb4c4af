import Foundation
import KeycloakSimulator
import Testing

@Suite("Simulator refresh grant")
struct SimulatorRefreshTests {
    @Test("refresh keeps session_state, rotates both tokens, old token still works without rotation")
    func refreshKeepsSession() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            let first = try await realm.refresh(login.refresh)
            #expect(first.status == 200)
            #expect(first.header("Cache-Control") == "no-store")
            let refreshed = try #require(SimTestTokens(first))
            #expect(refreshed.sessionState == login.sessionState)
            #expect(refreshed.refresh != login.refresh && refreshed.access != login.access)
            #expect(first.json?["id_token"] is String)
            #expect(first.number("refresh_expires_in") == 1800)
            // Rotation is off: the first refresh token stays usable until it expires.
            let again = try await realm.refresh(login.refresh)
            #expect(again.status == 200)
            #expect(again.string("session_state") == login.sessionState)
            let statistics = simulator.statistics()
            #expect(statistics.refreshes == 2 && statistics.logins == 1)
            #expect(statistics.currentSessions["alice"] == 1)
            #expect(statistics.concurrentRefreshes == 0)
        }
    }

    @Test("refresh bumps the session's last refresh")
    func refreshBumpsIdle() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            let before = try #require(simulator.liveSessions(username: "alice").first)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await realm.refresh(login.refresh).status == 200)
            let after = try #require(simulator.liveSessions(username: "alice").first)
            #expect(after.lastRefresh > before.lastRefresh)
            #expect(after.started == before.started)
        }
    }

    @Test("refresh errors: missing, garbage, other client, session gone")
    func refreshErrors() async throws {
        try await withSimTestServer({ $0.publicClients = ["ocp", "other"] }) { simulator, realm in
            let login = try await realm.tokens()
            let missing = try await realm.post(
                "protocol/openid-connect/token", [("grant_type", "refresh_token"), ("client_id", "ocp")])
            #expect(missing.status == 400)
            #expect(missing.oauthError == ["invalid_request", "No refresh token"])

            let garbage = try await realm.refresh("not.a.token")
            #expect(garbage.status == 400)
            #expect(garbage.oauthError == ["invalid_grant", "Invalid refresh token"])

            // An access token is not a refresh token, and a tampered signature is not ours.
            #expect(try await realm.refresh(login.access).oauthError == ["invalid_grant", "Invalid refresh token"])
            #expect(
                try await realm.refresh(login.refresh + "x").oauthError == ["invalid_grant", "Invalid refresh token"])

            let otherClient = try await realm.refresh(login.refresh, clientID: "other")
            #expect(otherClient.status == 400)
            #expect(
                otherClient.oauthError == [
                    "invalid_grant", "Invalid refresh token. Token client and authorized client don't match",
                ])

            let widened = try await realm.refresh(login.refresh, scope: "openid phone")
            #expect(widened.oauthError == ["invalid_scope", "Invalid scopes: openid phone"])
            let narrowed = try await realm.refresh(login.refresh, scope: "profile")
            #expect(narrowed.status == 200)
            #expect(narrowed.string("scope") == "profile")
            #expect(narrowed.json?["id_token"] == nil)

            simulator.killSession(id: login.sessionState)
            let gone = try await realm.refresh(login.refresh)
            #expect(gone.status == 400)
            #expect(gone.oauthError == ["invalid_grant", "Session not active"])

            let errors = simulator.statistics().refreshErrors
            #expect(errors["No refresh token"] == 1)
            #expect(errors["Invalid refresh token"] == 3)
            #expect(errors["Session not active"] == 1)
            #expect(errors["Invalid scopes: openid phone"] == 1)
        }
    }

    @Test("sub-second lifetimes: access token, refresh token and idle session expire on time")
    func fractionalLifetimes() async throws {
        let clock = ManualSimulatorClock()
        try await withSimTestServer(clock: clock, {
            $0.accessTokenLifespan = 0.2
            $0.ssoSessionIdle = 0.8
        }) { simulator, realm in
            let response = try await realm.login()
            #expect(response.number("expires_in") == 0.2)
            #expect(response.number("refresh_expires_in") == 0.8)
            let login = try #require(SimTestTokens(response))
            clock.advance(0.3)
            // The access token has expired; the session has not.
            #expect(try await realm.protected(login.access).status == 401)
            let refreshed = try await realm.refresh(login.refresh)
            #expect(refreshed.status == 200)
            let tokens = try #require(SimTestTokens(refreshed))
            #expect(try await realm.protected(tokens.access).status == 200)
            clock.advance(0.85)
            let expired = try await realm.refresh(tokens.refresh)
            #expect(expired.oauthError == ["invalid_grant", "Token is not active"])
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(simulator.statistics().currentSessions["alice"] == 0)
            #expect(simulator.statistics().deadTokenRequests == 1)
        }
    }

    @Test("idle grace keeps the session after its refresh token expired")
    func idleGrace() async throws {
        let clock = ManualSimulatorClock()
        try await withSimTestServer(clock: clock, {
            $0.ssoSessionIdle = 0.3
            $0.idleGrace = 0.4
        }) { simulator, realm in
            let login = try await realm.tokens()
            clock.advance(0.4)
            // Past idle, within the grace: the token is dead but the session still counts.
            #expect(try await realm.refresh(login.refresh).oauthError == ["invalid_grant", "Token is not active"])
            #expect(simulator.liveSessions(username: "alice").count == 1)
            clock.advance(0.35)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("SSO max ends a session that keeps refreshing; refresh_expires_in shrinks toward it")
    func sessionMaximum() async throws {
        let clock = ManualSimulatorClock()
        try await withSimTestServer(clock: clock, {
            $0.ssoSessionIdle = 0.5
            $0.ssoSessionMax = 1.0
        }) { simulator, realm in
            var tokens = try await realm.tokens()
            var lifetimes: [Double] = []
            for _ in 0..<3 {
                clock.advance(0.25)
                let refreshed = try await realm.refresh(tokens.refresh)
                #expect(refreshed.status == 200)
                tokens = try #require(SimTestTokens(refreshed))
                lifetimes.append(refreshed.number("refresh_expires_in") ?? 0)
            }
            // At 0.75 s at the latest only the 0.25 s to the maximum remain, less than idle.
            #expect(lifetimes.first == 0.5)
            #expect((lifetimes.last ?? 1) < 0.5)
            clock.advance(0.3)
            #expect(try await realm.refresh(tokens.refresh).status == 400)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }
}
