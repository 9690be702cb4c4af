import Foundation
import Testing

@testable import OCPSessions

/// Counts transport creations (the hot path must create none).
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    private var items: [KeycloakEndpoints] = []
    func increment() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
    func add(_ e: KeycloakEndpoints) { lock.withLock { items.append(e) } }
    var discovered: [KeycloakEndpoints] { lock.withLock { items } }
}

@Suite("Keycloak identity provider (lazy)")
struct KeycloakIdentityProviderTests {
    static let settings = KeycloakSettings(host: "https://sso.example.com", realm: "acme", clientID: "ocp-cli", scope: "openid")

    private static func keycloak26(_ request: KeycloakHTTPRequest) -> KeycloakCannedTransport.Reply {
        if request.url.hasSuffix("openid-configuration") {
            return request.url.contains("/auth/")
                ? .success(KeycloakHTTPResponse(status: 404, body: "<html/>"))
                : .success(KeycloakHTTPResponse(status: 200, body: KeycloakFixtures.discoveryBody(base: "https://sso.example.com")))
        }
        if request.url == "https://sso.example.com/realms/acme/protocol/openid-connect/token" {
            return .success(KeycloakHTTPResponse(status: 200, body: KeycloakFixtures.tokenBody()))
        }
        return .success(KeycloakHTTPResponse(status: 404, body: "<html/>"))
    }

    @Test("creating it creates no transport; first call discovers and reports the endpoints")
    func lazy() async throws {
        let created = Counter()
        let discovered = Counter()
        let transport = KeycloakCannedTransport(Self.keycloak26)
        let provider = KeycloakIdentityProvider(
            settings: Self.settings, onDiscovered: { discovered.add($0) },
            makeTransport: { created.increment(); return transport }
        )
        #expect(created.count == 0)
        _ = try await provider.login(username: "u", password: Secret("p"))
        _ = try await provider.refresh(refreshToken: "r")
        #expect(created.count == 1)
        #expect(discovered.discovered.count == 1)
        #expect(transport.requests.filter { $0.url.hasSuffix("openid-configuration") }.count == 2)
        #expect(transport.requests.count == 4)
        await provider.shutdown()
        #expect(transport.shutdowns == 1)
        let error = await #expect(throws: IdPError.self) { try await provider.refresh(refreshToken: "r") }
        #expect(error?.kind == .unavailable(outcomeUnknown: false))
    }

    @Test("matching cached endpoints: no discovery request")
    func warm() async throws {
        let transport = KeycloakCannedTransport(Self.keycloak26)
        let cached = try KeycloakDiscovery.fallbackEndpoints(host: "https://sso.example.com", realm: "acme")
        let moved = KeycloakEndpoints.fixed(host: "https://sso.example.com", realm: "acme", realmURL: "https://sso.example.com/realms/acme", discovered: true)
        let provider = KeycloakIdentityProvider(settings: Self.settings, cachedEndpoints: moved, makeTransport: { transport })
        _ = try await provider.login(username: "u", password: Secret("p"))
        #expect(transport.requests.count == 1)
        await provider.shutdown()

        // A cache for another realm is ignored: the provider discovers instead.
        let fresh = KeycloakCannedTransport(Self.keycloak26)
        let other = KeycloakIdentityProvider(
            settings: KeycloakSettings(host: "https://sso.example.com", realm: "other", clientID: "c"), cachedEndpoints: cached,
            makeTransport: { fresh })
        #expect(try await other.currentEndpoints().realm == "other")
        #expect(fresh.requests.first?.url.hasSuffix("openid-configuration") == true)
        await other.shutdown()
    }

    @Test("stale cache (Keycloak moved off /auth): rediscover and repeat once")
    func staleCache() async throws {
        let transport = KeycloakCannedTransport(Self.keycloak26)
        let discovered = Counter()
        let stale = try KeycloakDiscovery.fallbackEndpoints(host: "https://sso.example.com", realm: "acme")
        let provider = KeycloakIdentityProvider(
            settings: Self.settings, cachedEndpoints: stale, onDiscovered: { discovered.add($0) }, makeTransport: { transport })
        let tokens = try await provider.login(username: "u", password: Secret("p"))
        #expect(tokens.expiresIn == 300)
        #expect(transport.requests.map(\.url) == [
            stale.token,
            "https://sso.example.com/auth/realms/acme/.well-known/openid-configuration",
            "https://sso.example.com/realms/acme/.well-known/openid-configuration",
            "https://sso.example.com/realms/acme/protocol/openid-connect/token",
        ])
        #expect(discovered.discovered.first?.token == "https://sso.example.com/realms/acme/protocol/openid-connect/token")
        await provider.shutdown()
    }

    @Test("settings validation and real transport creation")
    func settings() async throws {
        #expect(throws: IdPError.self) { try KeycloakSettings(host: "http://sso.example.com", realm: "a", clientID: "c").validate() }
        #expect(throws: IdPError.self) { try KeycloakSettings(host: "https://sso", realm: "", clientID: "c").validate() }
        #expect(throws: IdPError.self) { try KeycloakSettings(host: "https://sso", realm: "a", clientID: "").validate() }
        let bad = #expect(throws: IdPError.self) {
            try KeycloakSettings(host: "https://sso", realm: "a", clientID: "c").makeTransport(environment: ["https_proxy": "https://p:1"])
        }
        #expect(bad?.kind == .configuration)
        let transport = try KeycloakSettings(host: "https://sso", realm: "a", clientID: "c").makeTransport(environment: [:])
        await transport.shutdown()
    }
}
