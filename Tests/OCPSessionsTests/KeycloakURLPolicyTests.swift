import Testing

@testable import OCPSessions

@Suite("Keycloak URL policy")
struct KeycloakURLPolicyTests {
    @Test("accepted hosts", arguments: [
        ("https://sso.example.com", "https://sso.example.com"),
        ("https://sso.example.com/", "https://sso.example.com"),
        ("HTTPS://SSO.Example.com:8443/auth//", "https://sso.example.com:8443/auth"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.45.6.7", "http://127.45.6.7"),
        ("http://localhost:8080/auth", "http://localhost:8080/auth"),
        ("http://LOCALHOST", "http://localhost"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]"),
        ("https://[2001:db8::1]:443", "https://[2001:db8::1]:443"),
    ])
    func accepted(_ row: (String, String)) throws {
        #expect(try KeycloakURLPolicy.checkHost(row.0).string == row.1)
    }

    @Test("rejected hosts", arguments: [
        "", "sso.example.com", "ftp://sso.example.com", "http://sso.example.com", "http://10.0.0.1",
        "http://127.0.0.1.nip.io", "http://127.1", "http://0x7f000001", "http://2130706433", "http://[::2]",
        "https://user:pw@sso.example.com", "https://sso.example.com?x=1", "https://sso.example.com#f",
        "https://sso.example.com:0", "https://sso.example.com:70000", "https://sso.example.com:8a",
        "https://sso example.com", "https://sso.example.com/a b", "https://sso.exämple.com", "https://",
        "https://[::1", "https://[zz::1]", "https://sso.example.com/%zz", "https://sso.example.com\n",
    ])
    func rejected(_ text: String) {
        #expect(throws: IdPError.self) { try KeycloakURLPolicy.checkHost(text) }
        do {
            _ = try KeycloakURLPolicy.checkHost(text)
        } catch {
            #expect(error.kind == .configuration)
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("a rejected URL's password is not repeated")
    func userInfoNotQuoted() {
        let error = #expect(throws: IdPError.self) { try KeycloakURLPolicy.checkHost("https://alice:hunter2@sso.example.com/auth") }
        #expect(error?.message.contains("hunter2") == false)
        #expect(error?.message.contains("***@sso.example.com") == true)
    }

    @Test("endpoints may have a query, never a fragment")
    func endpoints() throws {
        #expect(try KeycloakURLPolicy.checkEndpoint("https://a/b?c=d", what: "x").query == "c=d")
        #expect(throws: IdPError.self) { try KeycloakURLPolicy.checkEndpoint("https://a/b#c", what: "x") }
        #expect(throws: IdPError.self) { try KeycloakURLPolicy.checkEndpoint("http://kc.example.com/realms/a/protocol/openid-connect/token", what: "x") }
    }

    @Test("loopback detection")
    func loopback() {
        for host in ["127.0.0.1", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1", "localhost", "localhost.", "::ffff:127.0.0.1"] {
            #expect(KeycloakURLPolicy.isLoopback(host: host), "\(host)")
        }
        for host in ["128.0.0.1", "126.255.255.255", "::", "::2", "localhost.example.com", "mylocalhost", "127.0.0.01", "127.0.0", "fe80::1", "::ffff:10.0.0.1"] {
            #expect(!KeycloakURLPolicy.isLoopback(host: host), "\(host)")
        }
    }

    @Test("IPv6 parsing")
    func ipv6() {
        #expect(KeycloakIPAddress.parseIPv6("::") == Array(repeating: 0, count: 16))
        #expect(KeycloakIPAddress.parseIPv6("1::")?.prefix(2) == [0, 1])
        #expect(KeycloakIPAddress.parseIPv6("2001:db8::ff00:42:8329")?.suffix(2) == [0x83, 0x29])
        for bad in [":::", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1::", "12345::", "g::", "::1%eth0", "1:2:3:4:5:6:7::8:9"] {
            #expect(KeycloakIPAddress.parseIPv6(bad) == nil, "\(bad)")
        }
    }
}
