import Foundation
import KeycloakSimulator
import Testing

@Suite("Simulator password grant")
struct SimulatorPasswordGrantTests {
    @Test("success: token response shape, headers and claims")
    func success() async throws {
        try await withSimTestServer { simulator, realm in
            let response = try await realm.login(scope: "openid")
            #expect(response.status == 200)
            #expect(response.header("Cache-Control") == "no-store")
            #expect(response.header("Pragma") == "no-cache")
            let body = try #require(response.json)
            #expect(body["token_type"] as? String == "Bearer")
            #expect(response.number("expires_in") == 300)
            #expect(response.number("refresh_expires_in") == 1800)
            #expect(response.number("not-before-policy") == 0)
            #expect(response.string("scope") == "openid profile email")
            #expect(body["id_token"] is String)
            let sessionState = try #require(response.string("session_state"))
            let access = try #require(simTestClaims(response.string("access_token") ?? ""))
            #expect(access["typ"] as? String == "Bearer")
            #expect(access["sid"] as? String == sessionState)
            #expect(access["session_state"] as? String == sessionState)
            #expect(access["azp"] as? String == "ocp")
            #expect(access["iss"] as? String == simulator.realmURL)
            #expect(access["scope"] as? String == "openid profile email")
            let issuedAt = try #require(access["iat"] as? Int)
            #expect(access["exp"] as? Int == issuedAt + 300)
            let refresh = try #require(simTestClaims(response.string("refresh_token") ?? ""))
            #expect(refresh["typ"] as? String == "Refresh")
            #expect(refresh["sid"] as? String == sessionState)
            #expect(simulator.liveSessions(username: "alice").map(\.id) == [sessionState])
            let statistics = simulator.statistics()
            #expect(statistics.logins == 1 && statistics.loginAttempts == 1)
            #expect(statistics.currentSessions["alice"] == 1)
        }
    }

    @Test("every login is a new session with new tokens; id_token only with openid")
    func uniqueSessionsAndScopes() async throws {
        try await withSimTestServer({ $0.sessionStateClaim = false }) { simulator, realm in
            let first = try await realm.login(scope: nil)
            let second = try await realm.login(scope: "profile phone")
            #expect(first.status == 200 && second.status == 200)
            #expect(first.json?["id_token"] == nil)
            #expect(first.string("scope") == "profile email")
            #expect(second.string("scope") == "profile email phone")
            #expect(first.string("session_state") != second.string("session_state"))
            #expect(first.string("access_token") != second.string("access_token"))
            #expect(first.string("refresh_token") != second.string("refresh_token"))
            let access = try #require(simTestClaims(first.string("access_token") ?? ""))
            #expect(access["session_state"] == nil)
            #expect(access["sid"] as? String == first.string("session_state"))
            #expect(simulator.statistics().highWaterMark["alice"] == 2)
        }
    }

    @Test("request errors in Keycloak's order")
    func requestErrors() async throws {
        try await withSimTestServer({ $0.confidentialClients = ["svc": "s3cret"] }) { _, realm in
            let token = "protocol/openid-connect/token"
            let duplicated = try await realm.post(token, [("grant_type", "password"), ("grant_type", "password")])
            #expect(duplicated.status == 400)
            #expect(duplicated.oauthError == ["invalid_request", "duplicated parameter"])
            #expect(duplicated.header("Cache-Control") == "no-store")

            let noGrant = try await realm.post(token, [("client_id", "ocp")])
            #expect(noGrant.status == 400)
            #expect(noGrant.oauthError == ["invalid_request", "Missing form parameter: grant_type"])

            let unsupported = try await realm.post(token, [("grant_type", "magic"), ("client_id", "nope")])
            #expect(unsupported.status == 400)
            #expect(unsupported.oauthError == ["unsupported_grant_type", "Unsupported grant_type"])

            let noClient = try await realm.post(token, [("grant_type", "password"), ("username", "alice")])
            #expect(noClient.status == 401)
            #expect(noClient.oauthError == ["invalid_client", "Invalid client or Invalid client credentials"])

            let unknownClient = try await realm.login(clientID: "stranger")
            #expect(unknownClient.status == 401)
            #expect(unknownClient.oauthError == ["invalid_client", "Invalid client or Invalid client credentials"])

            let wrongSecret = try await realm.post(
                token,
                [
                    ("grant_type", "password"), ("client_id", "svc"), ("client_secret", "guess"), ("username", "alice"),
                    ("password", "alice-pass"),
                ])
            #expect(wrongSecret.status == 401)
            #expect(wrongSecret.oauthError == ["unauthorized_client", "Invalid client or Invalid client credentials"])

            let badScope = try await realm.login(scope: "openid root")
            #expect(badScope.status == 400)
            #expect(badScope.oauthError == ["invalid_scope", "Invalid scopes: openid root"])

            let noUser = try await realm.post(
                token, [("grant_type", "password"), ("client_id", "ocp"), ("password", "x")])
            #expect(noUser.status == 401)
            #expect(noUser.oauthError == ["invalid_request", "Missing parameter: username"])

            let unknownUser = try await realm.login(username: "mallory")
            #expect(unknownUser.status == 401)
            #expect(unknownUser.oauthError == ["invalid_grant", "Invalid user credentials"])

            let wrongPassword = try await realm.login(password: "wrong")
            #expect(wrongPassword.status == 401)
            #expect(wrongPassword.oauthError == ["invalid_grant", "Invalid user credentials"])

            let json = try await realm.http.send(
                .POST, "\(realm.path)/\(token)", headers: [("Content-Type", "application/json")], body: Array("{}".utf8)
            )
            #expect(json.status == 415)
        }
    }

    @Test("invalid_grant is 400 from 26.6")
    func invalidGrantStatus400() async throws {
        try await withSimTestServer({ $0.invalidGrantStatus = 400 }) { _, realm in
            let wrongPassword = try await realm.login(password: "wrong")
            #expect(wrongPassword.status == 400)
            #expect(wrongPassword.oauthError == ["invalid_grant", "Invalid user credentials"])
        }
    }

    @Test("client authentication with HTTP Basic, public and confidential")
    func basicClientAuthentication() async throws {
        try await withSimTestServer({ $0.confidentialClients = ["svc": "s3 cr:et"] }) { _, realm in
            let user = [("grant_type", "password"), ("username", "alice"), ("password", "alice-pass")]
            let token = "protocol/openid-connect/token"
            func basic(_ credentials: String) -> [(String, String)] {
                SimTestRealm.json + [("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString())]
            }
            let publicClient = try await realm.post(token, user, headers: basic("ocp:"))
            #expect(publicClient.status == 200)
            #expect(simTestClaims(publicClient.string("access_token") ?? "")?["azp"] as? String == "ocp")

            // RFC 6749 §2.3.1: id and secret are form-encoded inside the Basic credentials.
            let confidential = try await realm.post(token, user, headers: basic("svc:s3+cr%3Aet"))
            #expect(confidential.status == 200)

            let wrongSecret = try await realm.post(token, user, headers: basic("svc:nope"))
            #expect(wrongSecret.status == 401)

            let mismatch = try await realm.post(token, user + [("client_id", "other")], headers: basic("ocp:"))
            #expect(mismatch.status == 401)
            #expect(mismatch.oauthError == ["invalid_client", "Invalid client or Invalid client credentials"])

            let garbage = try await realm.post(
                token, user, headers: SimTestRealm.json + [("Authorization", "Basic !!!")])
            #expect(garbage.status == 401)

            let formSecret = try await realm.post(token, user + [("client_id", "svc"), ("client_secret", "s3 cr:et")])
            #expect(formSecret.status == 200)
        }
    }

    @Test("percent-encoding and + in the form")
    func formEncoding() async throws {
        try await withSimTestServer({ $0.users = ["bob smith": "p@ss w+rd&=%é"] }) { simulator, realm in
            let response = try await realm.login(username: "bob smith", password: "p@ss w+rd&=%é")
            #expect(response.status == 200)
            #expect(simulator.liveSessions(username: "bob smith").count == 1)
            // Raw: `+` is a space, `%2B` a plus, a broken escape is kept as written.
            let raw = "grant_type=password&client_id=ocp&username=bob+smith&password=p%40ss+w%2Brd%26%3D%25%C3%A9"
            let manual = try await realm.http.send(
                .POST, "\(realm.path)/protocol/openid-connect/token",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(raw.utf8))
            #expect(manual.status == 200)
            let broken = try await realm.http.send(
                .POST, "\(realm.path)/protocol/openid-connect/token",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("grant_type=password&client_id=ocp&username=%zz&password=%".utf8))
            #expect(broken.status == 401)
        }
    }

    @Test("login cost delays the answer without blocking others")
    func loginCost() async throws {
        // Run apart from the process-spawning tests: the bounds below are about scheduling, and a
        // machine busy with a dozen processes adds its own delay.
        try await exclusively { try await withSimTestServer({ $0.loginCost = 1.5 }) { _, realm in
            let start = Date()
            async let first = realm.login()
            async let second = realm.login()
            // Hashing does not block the event loop: other requests are answered meanwhile.
            let discovery = try await realm.get(".well-known/openid-configuration")
            #expect(discovery.status == 200)
            #expect(Date().timeIntervalSince(start) < 1.5)
            let answers = try await [first, second]
            #expect(answers.allSatisfy { $0.status == 200 })
            // Both waited, in parallel rather than one after the other (that would take 3 s).
            let elapsed = Date().timeIntervalSince(start)
            #expect(elapsed >= 1.5)
            #expect(elapsed < 2.9)
        } }
    }
}
