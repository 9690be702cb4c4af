import KeycloakSimulator
import Testing

@Suite("Simulator discovery and routing")
struct SimulatorDiscoveryTests {
    @Test("discovery under /auth lists the endpoints and scopes")
    func discoveryUnderAuth() async throws {
        try await withSimTestServer { simulator, realm in
            let response = try await realm.get(".well-known/openid-configuration")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            let issuer = "\(simulator.baseURL)/auth/realms/master"
            #expect(simulator.realmURL == issuer)
            #expect(response.string("issuer") == issuer)
            #expect(response.string("token_endpoint") == "\(issuer)/protocol/openid-connect/token")
            #expect(response.string("end_session_endpoint") == "\(issuer)/protocol/openid-connect/logout")
            #expect(response.string("revocation_endpoint") == "\(issuer)/protocol/openid-connect/revoke")
            #expect(response.string("userinfo_endpoint") == "\(issuer)/protocol/openid-connect/userinfo")
            #expect(response.string("introspection_endpoint") == "\(issuer)/protocol/openid-connect/token/introspect")
            #expect(response.string("jwks_uri") == "\(issuer)/protocol/openid-connect/certs")
            let grants = try #require(response.json?["grant_types_supported"] as? [String])
            #expect(grants.contains("password") && grants.contains("refresh_token"))
            let scopes = try #require(response.json?["scopes_supported"] as? [String])
            #expect(Set(["openid", "profile", "email", "offline_access"]).isSubset(of: scopes))
            #expect(response.json?["backchannel_logout_supported"] as? Bool == true)
        }
    }

    @Test("discovery without a base path, in another realm")
    func discoveryWithoutBasePath() async throws {
        try await withSimTestServer({
            $0.basePath = ""
            $0.realm = "ocp"
        }) { simulator, realm in
            #expect(realm.path == "/realms/ocp")
            let response = try await realm.get(".well-known/openid-configuration")
            #expect(response.string("issuer") == "\(simulator.baseURL)/realms/ocp")
            // The /auth form of the path does not exist on this server.
            let wrong = try await realm.http.send(.GET, "/auth/realms/ocp/.well-known/openid-configuration")
            #expect(wrong.status == 404)
        }
    }

    @Test("unknown realm, unknown path, wrong method")
    func routingErrors() async throws {
        try await withSimTestServer { _, realm in
            let unknownRealm = try await realm.http.send(.GET, "/auth/realms/nope/.well-known/openid-configuration")
            #expect(unknownRealm.status == 404)
            #expect(unknownRealm.string("error") == "Realm does not exist")
            #expect(try await realm.get("no/such/thing").status == 404)
            #expect(try await realm.http.send(.GET, "/elsewhere").status == 404)
            #expect(try await realm.get("protocol/openid-connect/token").status == 405)
            let certs = try await realm.get("protocol/openid-connect/certs")
            #expect(certs.status == 200 && certs.json?["keys"] is [Any])
            let realmDocument = try await realm.get("")
            #expect(realmDocument.string("realm") == "master")
        }
    }
}
