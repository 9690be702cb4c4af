import KeycloakSimulator
import Testing

@Suite("Simulator logout and revocation")
struct SimulatorLogoutTests {
    @Test("logout: 204 for a live session, again for the gone one")
    func logoutIsIdempotent() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            let first = try await realm.logout(login.refresh)
            #expect(first.status == 204)
            #expect(first.body.isEmpty)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(try await realm.refresh(login.refresh).oauthError == ["invalid_grant", "Session not active"])
            #expect(try await realm.logout(login.refresh).status == 204)
            #expect(simulator.statistics().logouts == 2)
        }
    }

    @Test("logout with an expired refresh token still ends the session")
    func logoutExpiredToken() async throws {
        try await withSimTestServer({
            $0.ssoSessionIdle = 0.1
            $0.idleGrace = 5
        }) { simulator, realm in
            let login = try await realm.tokens()
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await realm.refresh(login.refresh).oauthError == ["invalid_grant", "Token is not active"])
            #expect(simulator.liveSessions(username: "alice").count == 1)
            #expect(try await realm.logout(login.refresh).status == 204)
            #expect(simulator.liveSessions(username: "alice").isEmpty)
        }
    }

    @Test("logout errors: garbage, missing token, other client, bad client")
    func logoutErrors() async throws {
        try await withSimTestServer({ $0.publicClients = ["ocp", "other"] }) { simulator, realm in
            let login = try await realm.tokens()
            let garbage = try await realm.logout("garbage")
            #expect(garbage.status == 400)
            #expect(garbage.oauthError == ["invalid_grant", "Invalid refresh token"])
            let missing = try await realm.post("protocol/openid-connect/logout", [("client_id", "ocp")])
            #expect(missing.status == 400)
            #expect(missing.oauthError == ["invalid_request", "No refresh token"])
            let otherClient = try await realm.logout(login.refresh, clientID: "other")
            #expect(otherClient.status == 400)
            #expect(
                otherClient.oauthError == [
                    "invalid_grant", "Invalid refresh token. Token client and authorized client don't match",
                ])
            let unknownClient = try await realm.logout(login.refresh, clientID: "stranger")
            #expect(unknownClient.status == 401)
            #expect(simulator.liveSessions(username: "alice").count == 1)
            #expect(simulator.statistics().logouts == 0)
        }
    }

    @Test("revoke a refresh token ends that session only; an access token only itself")
    func revoke() async throws {
        try await withSimTestServer({ $0.publicClients = ["ocp", "other"] }) { simulator, realm in
            let one = try await realm.tokens()
            let two = try await realm.tokens()
            let endpoint = "protocol/openid-connect/revoke"

            let missing = try await realm.post(endpoint, [("client_id", "ocp")])
            #expect(missing.oauthError == ["invalid_request", "Token not provided"])
            let garbage = try await realm.post(endpoint, [("client_id", "ocp"), ("token", "xyz")])
            #expect(garbage.status == 200)
            #expect(garbage.oauthError == ["invalid_token", "Invalid token"])
            let otherClient = try await realm.post(endpoint, [("client_id", "other"), ("token", one.refresh)])
            #expect(otherClient.status == 400)
            #expect(otherClient.oauthError == ["invalid_request", "Unmatching clients"])

            let revoked = try await realm.post(endpoint, [("client_id", "ocp"), ("token", one.refresh)])
            #expect(revoked.status == 200 && revoked.body.isEmpty)
            #expect(simulator.liveSessions(username: "alice").map(\.id) == [two.sessionState])
            #expect(try await realm.refresh(one.refresh).oauthError == ["invalid_grant", "Session not active"])
            let again = try await realm.post(endpoint, [("client_id", "ocp"), ("token", one.refresh)])
            #expect(again.oauthError == ["invalid_token", "Invalid token"])

            #expect(try await realm.protected(two.access).status == 200)
            let access = try await realm.post(
                endpoint, [("client_id", "ocp"), ("token", two.access), ("token_type_hint", "refresh_token")])
            #expect(access.status == 200)
            #expect(try await realm.protected(two.access).status == 401)
            #expect(try await realm.refresh(two.refresh).status == 200)
        }
    }
}
