import Testing

@testable import OCPSessions

@Suite("Keycloak client requests")
struct KeycloakClientTests {
    private func client(
        _ transport: KeycloakCannedTransport, secret: Secret? = nil, scope: String? = nil
    ) -> KeycloakClient {
        KeycloakClient(
            endpoints: KeycloakFixtures.endpoints, clientID: "ocp-cli", clientSecret: secret, scope: scope,
            transport: transport, requestTimeout: .seconds(7)
        )
    }

    @Test("password grant: form, headers, scope, secret")
    func login() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.tokenBody())
        let tokens = try await client(transport, secret: Secret("s3cr&t"), scope: "openid offline_access")
            .login(username: "alice smith", password: Secret("p@ss=&+word"))
        #expect(tokens.sessionState == "11111111-2222-3333-4444-555555555555")
        let request = try #require(transport.requests.first)
        #expect(request.method == .post)
        #expect(request.url == "https://sso.example.com/realms/acme/protocol/openid-connect/token")
        #expect(request.header("Accept") == "application/json")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.timeout == .seconds(7))
        let form = keycloakDecodeForm(request.body)
        #expect(form.map(\.0) == ["grant_type", "client_id", "client_secret", "username", "password", "scope"])
        #expect(form.map(\.1) == ["password", "ocp-cli", "s3cr&t", "alice smith", "p@ss=&+word", "openid offline_access"])
        #expect(!request.description.contains("p@ss"))
    }

    @Test("public client without scope sends neither")
    func publicClient() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.tokenBody())
        _ = try await client(transport, scope: "").login(username: "a", password: Secret("b"))
        #expect(keycloakDecodeForm(transport.requests.first?.body).map(\.0) == ["grant_type", "client_id", "username", "password"])
    }

    @Test("empty credentials are not sent")
    func emptyCredentials() async {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.tokenBody())
        let e1 = await #expect(throws: IdPError.self) { try await client(transport).login(username: "a", password: Secret("")) }
        let e2 = await #expect(throws: IdPError.self) { try await client(transport).login(username: "", password: Secret("x")) }
        #expect(e1?.kind == .credentialsRejected && e2?.kind == .credentialsRejected)
        #expect(transport.requests.isEmpty)
    }

    @Test("refresh: no scope, refresh token in the form")
    func refresh() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.tokenBody())
        _ = try await client(transport, secret: Secret("x"), scope: "openid").refresh(refreshToken: "RT+/=")
        let form = keycloakDecodeForm(transport.requests.first?.body)
        #expect(form.map(\.0) == ["grant_type", "client_id", "client_secret", "refresh_token"])
        #expect(form.last?.1 == "RT+/=")
    }

    @Test("refresh failure is typed")
    func refreshDead() async {
        let transport = KeycloakCannedTransport(status: 400, body: #"{"error":"invalid_grant","error_description":"Session not active"}"#)
        let error = await #expect(throws: IdPError.self) { try await client(transport).refresh(refreshToken: "rt") }
        #expect(error?.kind == .sessionDead)
        #expect(error?.message.contains("Session not active") == true)
    }

    @Test("logout: client fields and refresh token; 204 succeeds")
    func logout() async throws {
        let transport = KeycloakCannedTransport(status: 204, body: "")
        try await client(transport).logout(refreshToken: "rt")
        let request = try #require(transport.requests.first)
        #expect(request.url == KeycloakFixtures.endpoints.logout)
        #expect(keycloakDecodeForm(request.body).map(\.0) == ["client_id", "refresh_token"])
        #expect(request.header("Accept") == "application/json")
    }

    @Test("account sessions: GET with bearer token")
    func accountSessions() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: #"[{"id":"s","started":1,"lastAccess":2,"clients":[{"clientId":"c"}]}]"#)
        let sessions = try await client(transport).accountSessions(accessToken: "AT")
        #expect(sessions == [AccountSession(id: "s", started: 1, lastAccess: 2, clientIDs: ["c"])])
        let request = try #require(transport.requests.first)
        #expect(request.method == .get)
        #expect(request.url == "https://sso.example.com/realms/acme/account/sessions")
        #expect(request.header("Authorization") == "Bearer AT")
        #expect(request.header("Accept") == "application/json")
        #expect(request.body == nil)
        #expect(!request.description.contains("AT"))
    }

    @Test("delete account session: id is one path segment")
    func deleteSession() async throws {
        let transport = KeycloakCannedTransport(status: 204, body: "")
        try await client(transport).deleteAccountSession(id: "../x y", accessToken: "AT")
        let request = try #require(transport.requests.first)
        #expect(request.method == .delete)
        #expect(request.url == "https://sso.example.com/realms/acme/account/sessions/..%2Fx%20y")
        await #expect(throws: IdPError.self) { try await client(transport).deleteAccountSession(id: "", accessToken: "AT") }
        let bad = await #expect(throws: IdPError.self) { try await client(transport).accountSessions(accessToken: "A\nT") }
        #expect(bad?.kind == .rejected)
        #expect(transport.requests.count == 1)
    }

    @Test("transport failures become unavailable with the right outcome")
    func transportFailures() async {
        let sent = KeycloakCannedTransport { _ in .failure(.sentWithoutAnswer("timeout")) }
        let e1 = await #expect(throws: IdPError.self) { try await client(sent).login(username: "a", password: Secret("b")) }
        #expect(e1?.kind == .unavailable(outcomeUnknown: true))
        let refused = KeycloakCannedTransport { _ in .failure(.notSent("refused")) }
        let e2 = await #expect(throws: IdPError.self) { try await client(refused).login(username: "a", password: Secret("b")) }
        #expect(e2?.kind == .unavailable(outcomeUnknown: false))
    }
}
