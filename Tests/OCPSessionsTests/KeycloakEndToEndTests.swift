import KeycloakSimulator
import Testing

@testable import OCPSessions

/// The Keycloak client against the simulator: discovery for both base paths, and the session
/// limiter's denial in each version's format.
@Suite("Keycloak client end to end (simulator)")
struct KeycloakEndToEndTests {
    @Test("login, refresh, list, deny, reject, logout, dead session", arguments: ["/auth", ""], DenialFormat.allCases)
    func flow(basePath: String, format: DenialFormat) async throws {
        var configuration = SimulatorConfiguration()
        configuration.basePath = basePath
        configuration.sessionLimit = 2
        configuration.denialFormat = format
        configuration.maximumLifetime = 60
        let simulator = try await KeycloakSimulator.start(configuration)
        let provider = KeycloakIdentityProvider(
            settings: KeycloakSettings(host: simulator.baseURL, realm: "master", clientID: "ocp", scope: "openid"),
            environment: [:]
        )
        do {
            let endpoints = try await provider.currentEndpoints()
            #expect(endpoints.discovered)
            #expect(endpoints.token == simulator.realmURL + "/protocol/openid-connect/token")

            let first = try await provider.login(username: "alice", password: Secret("alice-pass"))
            let refreshed = try await provider.refresh(refreshToken: first.refreshToken)
            #expect(refreshed.sessionState == first.sessionState)
            _ = try await provider.login(username: "alice", password: Secret("alice-pass"))

            let denied = await #expect(throws: IdPError.self) {
                try await provider.login(username: "alice", password: Secret("alice-pass"))
            }
            #expect(denied?.kind == .sessionLimitDenied)
            let wrong = await #expect(throws: IdPError.self) {
                try await provider.login(username: "alice", password: Secret("wrong"))
            }
            #expect(wrong?.kind == .credentialsRejected)

            let sessions = try await provider.accountSessions(accessToken: refreshed.accessToken)
            #expect(sessions.count == 2)
            #expect(sessions.contains { $0.id == first.sessionState && $0.clientIDs == ["ocp"] })

            try await provider.logout(refreshToken: refreshed.refreshToken)
            let dead = await #expect(throws: IdPError.self) { try await provider.refresh(refreshToken: refreshed.refreshToken) }
            #expect(dead?.kind == .sessionDead)
            // Logout is idempotent.
            try await provider.logout(refreshToken: refreshed.refreshToken)
        } catch {
            Issue.record("unexpected \(error)")
        }
        await provider.shutdown()
        await simulator.shutdown()
    }

    @Test("unknown realm")
    func unknownRealm() async throws {
        var configuration = SimulatorConfiguration()
        configuration.maximumLifetime = 60
        let simulator = try await KeycloakSimulator.start(configuration)
        let provider = KeycloakIdentityProvider(
            settings: KeycloakSettings(host: simulator.baseURL, realm: "nope", clientID: "ocp"), environment: [:]
        )
        let error = await #expect(throws: IdPError.self) { try await provider.currentEndpoints() }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("unknown realm") == true)
        await provider.shutdown()
        await simulator.shutdown()
    }
}
