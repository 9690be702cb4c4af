import Synchronization
import Foundation
import KeycloakSimulator
import NIOHTTP1

/// Starts a simulator with a short lifetime (a backstop should a test hang), runs `body` and
/// always shuts the simulator down.
func withSimTestServer<Result: Sendable>(
    clock: ManualSimulatorClock? = nil,
    _ configure: (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: (KeycloakSimulator, SimTestRealm) async throws -> Result
) async throws -> Result {
    var configuration = SimulatorConfiguration()
    configuration.maximumLifetime = 20
    configure(&configuration)
    let now: @Sendable () -> Double
    if let clock {
        now = { clock.now }
    } else {
        now = { Date().timeIntervalSince1970 }
    }
    let simulator = try await KeycloakSimulator.start(configuration, clock: now)
    do {
        let result = try await body(simulator, SimTestRealm(simulator))
        await simulator.shutdown()
        return result
    } catch {
        await simulator.shutdown()
        throw error
    }
}

/// Calls to one simulated realm, the way the ocp-sessions client makes them.
struct SimTestRealm: Sendable {
    let http: SimTestHTTPClient
    /// `{basePath}/realms/{realm}`.
    let path: String

    init(_ simulator: KeycloakSimulator) {
        http = SimTestHTTPClient(port: simulator.port)
        path = "\(simulator.configuration.basePath)/realms/\(simulator.configuration.realm)"
    }

    static let json = [("Accept", "application/json")]

    func post(
        _ endpoint: String, _ fields: [(String, String)], headers: [(String, String)] = json
    ) async throws -> SimTestResponse {
        try await http.send(
            .POST, "\(path)/\(endpoint)",
            headers: headers + [("Content-Type", "application/x-www-form-urlencoded")],
            body: simTestFormEncode(fields))
    }

    func get(_ endpoint: String, bearer: String? = nil, headers: [(String, String)] = json) async throws
        -> SimTestResponse
    {
        let authorization = bearer.map { [("Authorization", "Bearer \($0)")] } ?? []
        return try await http.send(.GET, "\(path)/\(endpoint)", headers: headers + authorization)
    }

    func login(
        username: String = "alice", password: String = "alice-pass", clientID: String = "ocp",
        scope: String? = "openid", headers: [(String, String)] = json
    ) async throws -> SimTestResponse {
        var fields = [
            ("grant_type", "password"), ("client_id", clientID), ("username", username), ("password", password),
        ]
        if let scope { fields.append(("scope", scope)) }
        return try await post("protocol/openid-connect/token", fields, headers: headers)
    }

    /// A login that must succeed.
    func tokens(username: String = "alice", password: String = "alice-pass", scope: String? = "openid") async throws
        -> SimTestTokens
    {
        let response = try await login(username: username, password: password, scope: scope)
        guard response.status == 200, let tokens = SimTestTokens(response) else {
            throw SimTestUnexpected(response: response)
        }
        return tokens
    }

    func refresh(_ refreshToken: String, clientID: String = "ocp", scope: String? = nil) async throws -> SimTestResponse
    {
        var fields = [("grant_type", "refresh_token"), ("client_id", clientID), ("refresh_token", refreshToken)]
        if let scope { fields.append(("scope", scope)) }
        return try await post("protocol/openid-connect/token", fields)
    }

    func logout(_ refreshToken: String, clientID: String = "ocp") async throws -> SimTestResponse {
        try await post("protocol/openid-connect/logout", [("client_id", clientID), ("refresh_token", refreshToken)])
    }

    func protected(_ accessToken: String) async throws -> SimTestResponse {
        try await get("sim/protected", bearer: accessToken)
    }
}

/// The interesting parts of a token response.
struct SimTestTokens: Sendable {
    var access: String
    var refresh: String
    var sessionState: String

    init?(_ response: SimTestResponse) {
        guard let access = response.string("access_token"), let refresh = response.string("refresh_token"),
            let sessionState = response.string("session_state")
        else { return nil }
        self.access = access
        self.refresh = refresh
        self.sessionState = sessionState
    }
}

struct SimTestUnexpected: Error, CustomStringConvertible {
    var response: SimTestResponse
    var description: String { "unexpected answer \(response.status): \(response.text)" }
}

/// The claims of a JWT, unverified.
func simTestClaims(_ token: String) -> [String: Any]? {
    let parts = token.split(separator: ".")
    guard parts.count == 3 else { return nil }
    var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    guard let data = Data(base64Encoded: base64) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}

/// Polls until `condition` holds, for at most `seconds` (generous: the suite runs tests in parallel
/// on 2 cores, and a held login was seen to reach the simulator after 3 s under load 9).
func simTestEventually(within seconds: Double = 10, _ condition: () -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// A simulator clock that moves only when a test advances it, so lifetime tests do not depend on
/// how busy the machine is.
final class ManualSimulatorClock: Sendable {
    private let seconds = Mutex<Double>(1_800_000_000)

    var now: Double { seconds.withLock { $0 } }

    func advance(_ delta: Double) {
        seconds.withLock { $0 += delta }
    }
}
