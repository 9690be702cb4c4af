import Foundation

/// How to reach one Keycloak realm as one OAuth client: the inputs of everything in this folder.
///
/// A plain value: creating it does no I/O, so the CLI can build it on every run and only
/// create a transport (``makeTransport(environment:)``) when a request is actually needed.
public struct KeycloakSettings: Sendable {
    /// `scheme://host[:port][/path]`, e.g. `https://sso.example.com` or `https://host/auth`.
    public var host: String
    /// The realm name (case-sensitive).
    public var realm: String
    /// The OAuth `client_id`; the client needs "Direct access grants" enabled.
    public var clientID: String
    /// For a confidential client; sent as the form field `client_secret`.
    public var clientSecret: Secret?
    /// The `scope` of the password grant (e.g. `openid`); not sent when nil or empty.
    public var scope: String?
    /// A PEM CA bundle to trust instead of the system roots.
    public var caFile: String?
    /// TCP/TLS connect timeout (default 3 s).
    public var connectTimeout: Duration
    /// Deadline of each request (default 10 s).
    public var requestTimeout: Duration

    public init(
        host: String, realm: String, clientID: String, clientSecret: Secret? = nil, scope: String? = nil,
        caFile: String? = nil, connectTimeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.realm = realm
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
    }

    /// Checks the settings without any I/O (URL policy, non-empty realm and client id).
    public func validate() throws(IdPError) {
        _ = try KeycloakURLPolicy.checkHost(host)
        guard !realm.isEmpty else { throw IdPError(.configuration, "the realm name is empty") }
        guard !clientID.isEmpty else { throw IdPError(.configuration, "the client id is empty") }
    }

    /// Whether cached endpoints belong to these settings (same host and realm).
    public func accepts(_ endpoints: KeycloakEndpoints) -> Bool {
        endpoints.matches(host: host, realm: realm) && (try? endpoints.validate()) != nil
    }

    /// Creates the AsyncHTTPClient transport, with proxies from `environment`. Starts an event
    /// loop thread: call it only when a request is needed, and call `shutdown()` on the result.
    public func makeTransport(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(IdPError) -> KeycloakHTTPTransport {
        try validate()
        let proxy = try KeycloakProxyConfiguration.fromEnvironment(environment)
        return try KeycloakHTTPTransport(
            configuration: .init(
                caFile: caFile, connectTimeout: connectTimeout, requestTimeout: requestTimeout, proxy: proxy
            )
        )
    }

    /// Runs ``KeycloakDiscovery/discover(host:realm:transport:)`` for these settings.
    public func discoverEndpoints(transport: any KeycloakTransport) async throws(IdPError) -> KeycloakEndpoints {
        try validate()
        return try await KeycloakDiscovery.discover(host: host, realm: realm, transport: transport)
    }

    /// A client for these settings (no I/O).
    public func makeClient(endpoints: KeycloakEndpoints, transport: any KeycloakTransport) -> KeycloakClient {
        KeycloakClient(
            endpoints: endpoints, clientID: clientID, clientSecret: clientSecret, scope: scope, transport: transport,
            requestTimeout: requestTimeout
        )
    }
}
