import Foundation
import KeycloakSimulator
import Testing

@Suite("Simulator HTTP behaviour")
struct SimulatorHTTPTests {
    @Test("keep-alive: several requests on one connection")
    func keepAlive() async throws {
        try await withSimTestServer { simulator, realm in
            let statuses = try await realm.http.withConnection { connection in
                var statuses: [Int] = []
                for _ in 0..<3 {
                    let response = try await connection.send(
                        .POST, "\(realm.path)/protocol/openid-connect/token",
                        headers: SimTestRealm.json + [("Content-Type", "application/x-www-form-urlencoded")],
                        body: simTestFormEncode([
                            ("grant_type", "password"), ("client_id", "ocp"), ("username", "alice"),
                            ("password", "alice-pass"),
                        ]))
                    #expect(response.header("Connection") == "keep-alive")
                    statuses.append(response.status)
                }
                statuses.append(
                    try await connection.send(.GET, "\(realm.path)/.well-known/openid-configuration").status)
                return statuses
            }
            #expect(statuses == [200, 200, 200, 200])
            #expect(simulator.statistics().logins == 3)
        }
    }

    @Test("a body over 64 KiB gets 413 and changes nothing")
    func bodyTooLarge() async throws {
        try await withSimTestServer { simulator, realm in
            let padding = String(repeating: "a", count: 70 * 1024)
            // The server answers 413 and closes the connection; a client still writing the body may
            // see the close before it reads the answer. Either way the request is refused.
            do {
                let response = try await realm.post(
                    "protocol/openid-connect/token",
                    [
                        ("grant_type", "password"), ("client_id", "ocp"), ("username", "alice"), ("password", "alice-pass"),
                        ("padding", padding),
                    ])
                #expect(response.status == 413)
            } catch {
                #expect("\(error)".contains("closed"), "\(error)")
            }
            #expect(simulator.statistics().loginAttempts == 0)
            let discovery = try await realm.get(".well-known/openid-configuration")
            #expect(discovery.status == 200)
        }
    }

    @Test("malformed requests never take the server down")
    func malformedRequests() async throws {
        try await withSimTestServer { _, realm in
            let token = "\(realm.path)/protocol/openid-connect/token"
            let bodies = [
                "", "&&&", "=", "grant_type", "grant_type=%", "grant_type=password&%%%=1", "\u{0}\u{1}\u{ff}",
            ]
            for body in bodies {
                let response = try await realm.http.send(
                    .POST, token, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(body.utf8))
                #expect((400...401).contains(response.status))
            }
            let weirdAuthorization = try await realm.http.send(
                .GET, "\(realm.path)/sim/protected", headers: [("Authorization", "Bearer a.b.c")])
            #expect(weirdAuthorization.status == 401)
            let binaryToken = try await realm.refresh("eyJ.\u{7f}.x")
            #expect(binaryToken.status == 400)
            #expect(try await realm.get(".well-known/openid-configuration").status == 200)
        }
    }

    @Test("16 clients at once, each logging in, refreshing and logging out")
    func manyClients() async throws {
        try await withSimTestServer({ $0.sessionLimit = 16 }) { simulator, realm in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let login = try await realm.tokens()
                        let refreshed = try #require(SimTestTokens(try await realm.refresh(login.refresh)))
                        #expect(try await realm.protected(refreshed.access).status == 200)
                        #expect(try await realm.logout(refreshed.refresh).status == 204)
                    }
                }
                try await group.waitForAll()
            }
            let statistics = simulator.statistics()
            #expect(statistics.logins == 16 && statistics.refreshes == 16 && statistics.logouts == 16)
            #expect(statistics.currentSessions["alice"] == 0)
            #expect(statistics.highWaterMark["alice", default: 0] <= 16)
        }
    }
}
