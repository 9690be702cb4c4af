import Testing

@testable import OCPSessions

@Suite("Keycloak proxy configuration")
struct KeycloakProxyConfigurationTests {
    private func url(_ s: String) throws -> KeycloakURLPolicy.CheckedURL { try KeycloakURLPolicy.checkEndpoint(s, what: "t") }

    @Test("variables and precedence")
    func environment() throws {
        let config = try KeycloakProxyConfiguration.fromEnvironment([
            "https_proxy": "http://proxy.corp:3128", "HTTPS_PROXY": "http://ignored:1",
            "HTTP_PROXY": "http://cgi-injected:1", "NO_PROXY": "internal.corp",
        ])
        #expect(config.httpsProxy == .init(kind: .http, host: "proxy.corp", port: 3128))
        #expect(config.httpProxy == nil)
        #expect(config.noProxy == [.domain("internal.corp", port: nil)])

        let upper = try KeycloakProxyConfiguration.fromEnvironment(["HTTPS_PROXY": "proxy:8080", "http_proxy": "socks5h://s:1081", "no_proxy": " "])
        #expect(upper.httpsProxy == .init(kind: .http, host: "proxy", port: 8080))
        #expect(upper.httpProxy == .init(kind: .socks5, host: "s", port: 1081))
        #expect(upper.noProxy.isEmpty)
        #expect(try KeycloakProxyConfiguration.fromEnvironment([:]) == .none)
        #expect(try KeycloakProxyConfiguration.fromEnvironment(["https_proxy": ""]) == .none)
    }

    @Test("proxy URLs")
    func proxyURLs() throws {
        let withCreds = try KeycloakProxyConfiguration.parseProxyURL("http://us%40er:p%3Aw@Proxy.Corp:3128/", variable: "https_proxy")
        #expect(withCreds == .init(kind: .http, host: "proxy.corp", port: 3128, username: "us@er", password: "p:w"))
        #expect(!withCreds.description.contains("p:w"))
        #expect(try KeycloakProxyConfiguration.parseProxyURL("proxy.corp", variable: "x").port == 1080)
        #expect(try KeycloakProxyConfiguration.parseProxyURL("http://[fd00::1]:3128", variable: "x").host == "fd00::1")
        for bad in ["https://proxy:443", "socks4://p:1", "http://", "http://p:99999", "http://p:x", "http://p/path", "http://u:%zz@p:1", "http://p q:1"] {
            #expect(throws: IdPError.self, "\(bad)") { try KeycloakProxyConfiguration.parseProxyURL(bad, variable: "https_proxy") }
        }
    }

    @Test("no_proxy matching")
    func noProxy() throws {
        let proxy = KeycloakProxyConfiguration.Server(kind: .http, host: "p", port: 3128)
        let config = KeycloakProxyConfiguration(
            httpsProxy: proxy, httpProxy: proxy,
            noProxy: KeycloakProxyConfiguration.parseNoProxy(".corp.example, *.int.example,plain.example sso.other:8443,10.0.0.0/8, 192.168.1.5, fd00::/8, [2001:db8::1]:443, bad/99")
        )
        #expect(try config.proxy(for: url("https://sso.corp.example")) == nil)
        #expect(try config.proxy(for: url("https://corp.example")) == nil)
        #expect(try config.proxy(for: url("https://a.b.int.example")) == nil)
        #expect(try config.proxy(for: url("https://plain.example")) == nil)
        #expect(try config.proxy(for: url("https://notplain.example")) == proxy)
        #expect(try config.proxy(for: url("https://sso.other:8443")) == nil)
        #expect(try config.proxy(for: url("https://sso.other")) == proxy)
        #expect(try config.proxy(for: url("https://10.20.30.40")) == nil)
        #expect(try config.proxy(for: url("https://11.0.0.1")) == proxy)
        #expect(try config.proxy(for: url("https://192.168.1.5")) == nil)
        #expect(try config.proxy(for: url("https://[fd12::1]")) == nil)
        #expect(try config.proxy(for: url("https://[2001:db8::1]")) == nil)
        #expect(try config.proxy(for: url("https://[2001:db8::1]:8443")) == proxy)
        #expect(try config.proxy(for: url("https://sso.example.com")) == proxy)
        // Loopback never goes through a proxy.
        #expect(try config.proxy(for: url("http://127.0.0.1:8080")) == nil)
        #expect(try config.proxy(for: url("https://localhost")) == nil)

        let all = KeycloakProxyConfiguration(httpsProxy: proxy, noProxy: KeycloakProxyConfiguration.parseNoProxy("*"))
        #expect(try all.proxy(for: url("https://anything")) == nil)
        let httpOnly = KeycloakProxyConfiguration(httpProxy: proxy)
        #expect(try httpOnly.proxy(for: url("https://sso.example.com")) == nil)
    }
}
