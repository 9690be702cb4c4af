import Foundation
import Testing

@testable import OCPSessions

@Suite("Keycloak discovery")
struct KeycloakDiscoveryTests {
    @Test("candidate order")
    func candidates() throws {
        #expect(try KeycloakDiscovery.candidateURLs(host: "https://kc.example.com/", realm: "acme") == [
            "https://kc.example.com/auth/realms/acme/.well-known/openid-configuration",
            "https://kc.example.com/realms/acme/.well-known/openid-configuration",
        ])
        #expect(try KeycloakDiscovery.candidateURLs(host: "https://kc.example.com/auth", realm: "acme") == [
            "https://kc.example.com/auth/realms/acme/.well-known/openid-configuration",
            "https://kc.example.com/auth/auth/realms/acme/.well-known/openid-configuration",
        ])
        #expect(try KeycloakDiscovery.candidateURLs(host: "https://kc.example.com/sso", realm: "my realm/x")[1] ==
            "https://kc.example.com/sso/realms/my%20realm%2Fx/.well-known/openid-configuration")
        #expect(throws: IdPError.self) { try KeycloakDiscovery.candidateURLs(host: "https://kc", realm: "") }
        #expect(throws: IdPError.self) { try KeycloakDiscovery.candidateURLs(host: "http://kc.example.com", realm: "a") }
    }

    @Test("Quarkus layout: /auth misses with HTML, /realms answers")
    func quarkus() async throws {
        let transport = KeycloakCannedTransport { request in
            if request.url.contains("/auth/") { return .success(KeycloakHTTPResponse(status: 404, body: "<html>Resource not found</html>")) }
            return .success(KeycloakHTTPResponse(status: 200, body: KeycloakFixtures.discoveryBody(base: "https://kc.example.com")))
        }
        let endpoints = try await KeycloakDiscovery.discover(host: "https://kc.example.com", realm: "acme", transport: transport)
        let expected = try KeycloakDiscovery.candidateURLs(host: "https://kc.example.com", realm: "acme")
        #expect(transport.requests.map(\.url) == expected)
        #expect(transport.requests.allSatisfy { $0.method == .get && $0.header("Accept") == "application/json" })
        #expect(endpoints == KeycloakEndpoints(
            host: "https://kc.example.com", realm: "acme", issuer: "https://kc.example.com/realms/acme",
            token: "https://kc.example.com/realms/acme/protocol/openid-connect/token",
            logout: "https://kc.example.com/realms/acme/protocol/openid-connect/logout",
            userinfo: "https://kc.example.com/realms/acme/protocol/openid-connect/userinfo",
            revocation: "https://kc.example.com/realms/acme/protocol/openid-connect/revoke",
            account: "https://kc.example.com/realms/acme/account", discovered: true))
    }

    @Test("WildFly layout: first candidate answers, second never asked")
    func wildfly() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.discoveryBody(base: "https://kc.example.com/auth"))
        let endpoints = try await KeycloakDiscovery.discover(host: "https://kc.example.com", realm: "acme", transport: transport)
        #expect(transport.requests.count == 1)
        #expect(endpoints.account == "https://kc.example.com/auth/realms/acme/account")
        #expect(endpoints.matches(host: "https://kc.example.com/", realm: "acme"))
        #expect(!endpoints.matches(host: "https://kc.example.com", realm: "other"))
    }

    @Test("frontend URL for logout is kept, account API follows the token endpoint")
    func frontend() async throws {
        let body = """
            {"issuer":"https://public.example.com/realms/acme",\
            "token_endpoint":"https://kc.internal:8443/realms/acme/protocol/openid-connect/token",\
            "end_session_endpoint":"https://public.example.com/realms/acme/protocol/openid-connect/logout"}
            """
        let transport = KeycloakCannedTransport(status: 200, body: body)
        let e = try await KeycloakDiscovery.discover(host: "https://kc.internal:8443", realm: "acme", transport: transport)
        #expect(e.issuer == "https://public.example.com/realms/acme")
        #expect(e.logout == "https://public.example.com/realms/acme/protocol/openid-connect/logout")
        #expect(e.userinfo == "https://kc.internal:8443/realms/acme/protocol/openid-connect/userinfo")
        #expect(e.account == "https://kc.internal:8443/realms/acme/account")
    }

    @Test("unknown realm on every candidate")
    func unknownRealm() async throws {
        let transport = KeycloakCannedTransport(status: 404, body: #"{"error":"Realm does not exist"}"#)
        await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc", realm: "nope", transport: transport) }
        do {
            _ = try await KeycloakDiscovery.discover(host: "https://kc", realm: "nope", transport: transport)
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.message.contains("unknown realm"))
        }
    }

    @Test("unknown realm on one candidate, HTML 404 on the other")
    func unknownRealmMixed() async throws {
        let transport = KeycloakCannedTransport { request in
            request.url.contains("/auth/")
                ? .success(KeycloakHTTPResponse(status: 404, body: "<html/>"))
                : .success(KeycloakHTTPResponse(status: 404, body: #"{"error":"Realm does not exist","error_description":"For more on this error consult the server log."}"#))
        }
        let error = await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc", realm: "nope", transport: transport) }
        #expect(error?.kind == .configuration)
    }

    @Test("no discovery document anywhere: fixed paths under /auth")
    func fallback() async throws {
        let transport = KeycloakCannedTransport(status: 404, body: "<html>Not Found</html>")
        let e = try await KeycloakDiscovery.discover(host: "https://kc.example.com", realm: "acme", transport: transport)
        #expect(!e.discovered)
        #expect(e.token == "https://kc.example.com/auth/realms/acme/protocol/openid-connect/token")
        #expect(e.account == "https://kc.example.com/auth/realms/acme/account")
        let e2 = try KeycloakDiscovery.fallbackEndpoints(host: "https://kc.example.com/auth", realm: "acme")
        #expect(e2.logout == "https://kc.example.com/auth/realms/acme/protocol/openid-connect/logout")
    }

    @Test("5xx is not cached as a fallback")
    func serverError() async throws {
        let transport = KeycloakCannedTransport { request in
            request.url.contains("/auth/")
                ? .success(KeycloakHTTPResponse(status: 404, body: "<html/>"))
                : .success(KeycloakHTTPResponse(status: 503, body: ""))
        }
        let error = await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc", realm: "a", transport: transport) }
        #expect(error?.kind == .unavailable(outcomeUnknown: false))
    }

    @Test("unreachable host stops after one request")
    func unreachable() async throws {
        let transport = KeycloakCannedTransport { _ in .failure(.notSent("connection refused")) }
        let error = await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc", realm: "a", transport: transport) }
        #expect(error?.kind == .unavailable(outcomeUnknown: false))
        #expect(transport.requests.count == 1)
        let tls = KeycloakCannedTransport { _ in .failure(.tls("certificate verify failed")) }
        let tlsError = await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc", realm: "a", transport: tls) }
        #expect(tlsError?.kind == .configuration)
    }

    @Test("a document advertising plain http:// off loopback is a configuration error")
    func insecureDocument() async throws {
        let transport = KeycloakCannedTransport(status: 200, body: KeycloakFixtures.discoveryBody(base: "http://kc.example.com"))
        let error = await #expect(throws: IdPError.self) { try await KeycloakDiscovery.discover(host: "https://kc.example.com", realm: "acme", transport: transport) }
        #expect(error?.kind == .configuration)
        #expect(error?.message.contains("https://") == true)
    }

    @Test("endpoints round-trip through JSON")
    func codable() throws {
        let e = KeycloakFixtures.endpoints
        let data = try JSONEncoder().encode(e)
        #expect(try JSONDecoder().decode(KeycloakEndpoints.self, from: data) == e)
    }

    @Test("candidate order against a loopback server")
    func loopbackOrder() async throws {
        try await withKeycloakLoopbackServer({ request in
            request.uri == "/realms/acme/.well-known/openid-configuration"
                ? .respond(status: 200, headers: [KeycloakHTTPHeader("Content-Type", "application/json")], body: Array(KeycloakFixtures.discoveryBody(base: "http://127.0.0.1:1").utf8))
                : .respond(status: 404, headers: [], body: Array("Not found".utf8))
        }) { server in
            try await withKeycloakTransport { transport in
                let e = try await KeycloakDiscovery.discover(host: server.baseURL, realm: "acme", transport: transport)
                #expect(e.token == "http://127.0.0.1:1/realms/acme/protocol/openid-connect/token")
                #expect(server.received.map(\.uri) == [
                    "/auth/realms/acme/.well-known/openid-configuration",
                    "/realms/acme/.well-known/openid-configuration",
                ])
                #expect(server.received.allSatisfy { $0.headers.contains { $0.name.lowercased() == "accept" && $0.value == "application/json" } })
            }
        }
    }
}
