import KeycloakSimulator
import Testing

@Suite("Simulator bearer endpoints: userinfo, account API, protected, introspection")
struct SimulatorBearerTests {
    @Test("userinfo: 200 with openid, 403 without, 401 when dead")
    func userinfo() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            let info = try await realm.get("protocol/openid-connect/userinfo", bearer: login.access)
            #expect(info.status == 200)
            #expect(info.string("preferred_username") == "alice")
            #expect(info.string("sub") == simTestClaims(login.access)?["sub"] as? String)
            let posted = try await realm.post("protocol/openid-connect/userinfo", [("access_token", login.access)])
            #expect(posted.status == 200)

            let noOpenID = try await realm.tokens(scope: "profile")
            let forbidden = try await realm.get("protocol/openid-connect/userinfo", bearer: noOpenID.access)
            #expect(forbidden.status == 403)
            #expect(forbidden.header("WWW-Authenticate")?.contains(#"error="insufficient_scope""#) == true)

            let garbage = try await realm.get("protocol/openid-connect/userinfo", bearer: "garbage")
            #expect(garbage.status == 401)
            #expect(garbage.body.isEmpty)
            #expect(garbage.header("WWW-Authenticate")?.contains("Token verification failed") == true)

            simulator.killSession(id: login.sessionState)
            let dead = try await realm.get("protocol/openid-connect/userinfo", bearer: login.access)
            #expect(dead.status == 401)
            #expect(dead.header("WWW-Authenticate")?.contains("User session not found") == true)
        }
    }

    @Test("account API lists the user's sessions and deletes them")
    func accountSessions() async throws {
        try await withSimTestServer { simulator, realm in
            let one = try await realm.tokens()
            let two = try await realm.tokens()
            let foreign = simulator.createForeignSessions(username: "alice", count: 1, clientID: "browser")
            let list = try await realm.get("account/sessions", bearer: one.access)
            #expect(list.status == 200)
            let sessions = try #require(list.jsonArray)
            #expect(
                Set(sessions.compactMap { $0["id"] as? String }) == Set([one.sessionState, two.sessionState] + foreign))
            let mine = try #require(sessions.first { $0["id"] as? String == one.sessionState })
            #expect(mine["current"] as? Bool == true)
            let started = try #require(mine["started"] as? Int)
            #expect(mine["lastAccess"] as? Int == started)
            #expect(mine["expires"] as? Int == started + 36000)
            #expect(mine["ipAddress"] as? String == "127.0.0.1")
            #expect(mine["browser"] is String)
            let clients = try #require(mine["clients"] as? [[String: Any]])
            #expect(clients.first?["clientId"] as? String == "ocp")
            #expect(clients.first?["clientName"] is String)

            let delete = try await realm.http.send(
                .DELETE, "\(realm.path)/account/sessions/\(two.sessionState)",
                headers: [("Authorization", "Bearer \(one.access)")])
            #expect(delete.status == 204)
            let unknown = try await realm.http.send(
                .DELETE, "\(realm.path)/account/sessions/unknown", headers: [("Authorization", "Bearer \(one.access)")])
            #expect(unknown.status == 204)
            #expect(simulator.liveSessions(username: "alice").count == 2)

            let deleteOthers = try await realm.http.send(
                .DELETE, "\(realm.path)/account/sessions", headers: [("Authorization", "Bearer \(one.access)")])
            #expect(deleteOthers.status == 204)
            #expect(simulator.liveSessions(username: "alice").map(\.id) == [one.sessionState])

            #expect(try await realm.get("account/sessions", bearer: two.access).status == 401)
            #expect(try await realm.get("account/sessions").status == 401)
        }
    }

    @Test("protected endpoint counts served and dead-token requests")
    func protectedCounters() async throws {
        try await withSimTestServer { simulator, realm in
            let login = try await realm.tokens()
            let ok = try await realm.protected(login.access)
            #expect(ok.status == 200)
            #expect(ok.json?["ok"] as? Bool == true)
            #expect(ok.string("session") == login.sessionState)
            #expect(try await realm.logout(login.refresh).status == 204)
            let dead = try await realm.protected(login.access)
            #expect(dead.status == 401)
            #expect(dead.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try await realm.get("sim/protected").status == 401)
            let statistics = simulator.statistics()
            #expect(statistics.protectedRequests == 1 && statistics.deadTokenRequests == 2)
        }
    }

    @Test("introspection: refused to public clients, answered for confidential ones")
    func introspection() async throws {
        try await withSimTestServer({ $0.confidentialClients = ["svc": "secret"] }) { simulator, realm in
            let login = try await realm.tokens()
            let endpoint = "protocol/openid-connect/token/introspect"
            let publicClient = try await realm.post(endpoint, [("client_id", "ocp"), ("token", login.access)])
            #expect(publicClient.status == 403)
            #expect(publicClient.oauthError == ["invalid_request", "Client not allowed."])
            let badSecret = try await realm.post(
                endpoint, [("client_id", "svc"), ("client_secret", "x"), ("token", login.access)])
            #expect(badSecret.status == 401)
            #expect(badSecret.oauthError == ["invalid_request", "Authentication failed."])
            let active = try await realm.post(
                endpoint, [("client_id", "svc"), ("client_secret", "secret"), ("token", login.access)])
            #expect(active.json?["active"] as? Bool == true)
            #expect(active.string("sid") == login.sessionState)
            #expect(active.string("client_id") == "ocp")
            #expect(active.string("username") == "alice")
            simulator.killSession(id: login.sessionState)
            let inactive = try await realm.post(
                endpoint, [("client_id", "svc"), ("client_secret", "secret"), ("token", login.access)])
            #expect(inactive.json?.count == 1)
            #expect(inactive.json?["active"] as? Bool == false)
        }
    }
}
