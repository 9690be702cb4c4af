import Testing

@testable import OCPSessions

@Suite("Keycloak form encoding")
struct KeycloakFormEncodingTests {
    @Test("WHATWG form encoding")
    func encoding() {
        let body = KeycloakFormEncoding.encode([("grant_type", "password"), ("username", "a b"), ("password", "p&=+%?#/ü€*-._~")])
        #expect(String(decoding: body, as: UTF8.self) == "grant_type=password&username=a+b&password=p%26%3D%2B%25%3F%23%2F%C3%BC%E2%82%AC*-._%7E")
        #expect(KeycloakFormEncoding.encode([]).isEmpty)
        #expect(String(decoding: KeycloakFormEncoding.encode([("k", "")]), as: UTF8.self) == "k=")
    }

    @Test("round trip through a form decoder", arguments: ["", " ", "+", "%", "%20", "&&==", "pässwörd", "🔑 key", "a\nb\r\0c", "'\"<>\\", "x=y&z=w"])
    func roundTrip(_ value: String) {
        let decoded = keycloakDecodeForm(KeycloakFormEncoding.encode([("client_id", "ocp"), ("password", value)]))
        #expect(decoded.count == 2)
        #expect(decoded.last?.1 == value)
    }

    @Test("path segments")
    func pathSegments() {
        #expect(KeycloakFormEncoding.pathSegment("acme") == "acme")
        #expect(KeycloakFormEncoding.pathSegment("my realm/x?y#z") == "my%20realm%2Fx%3Fy%23z")
        #expect(KeycloakFormEncoding.pathSegment("..") == "%2E%2E")
        #expect(KeycloakFormEncoding.pathSegment(".") == "%2E")
        #expect(KeycloakFormEncoding.pathSegment("a-b_c.d~e") == "a-b_c.d~e")
        #expect(KeycloakFormEncoding.pathSegment("ü") == "%C3%BC")
    }
}
