import Foundation
import Testing

@testable import OCPSessions

/// One canned answer and the kind it must be classified as.
struct KeycloakClassifierCase: CustomTestStringConvertible, Sendable {
    var name: String
    var operation: KeycloakOperation
    var status: Int
    var body: String
    var headers: [KeycloakHTTPHeader] = []
    var expected: IdPError.Kind

    var testDescription: String { name }

    static func json(
        _ name: String, _ operation: KeycloakOperation, _ status: Int, error: String, description: String? = nil,
        _ expected: IdPError.Kind
    ) -> KeycloakClassifierCase {
        var body = #"{"error":"\#(error)""#
        if let description { body += #","error_description":"\#(description)""# }
        body += "}"
        return KeycloakClassifierCase(name: name, operation: operation, status: status, body: body, expected: expected)
    }
}

private func classify(_ c: KeycloakClassifierCase) -> KeycloakResponseClassifier.Outcome {
    KeycloakResponseClassifier.classify(
        KeycloakHTTPResponse(status: c.status, headers: c.headers, body: c.body), for: c.operation
    )
}

private func failureKind(_ outcome: KeycloakResponseClassifier.Outcome) -> IdPError.Kind? {
    if case .failure(let error) = outcome { return error.kind }
    return nil
}

@Suite("Keycloak response classifier")
struct KeycloakResponseClassifierTests {
    // §3.2 password grant errors, every version format.
    static let passwordGrantRows: [KeycloakClassifierCase] = [
        .json("grant_type missing", .login, 400, error: "invalid_request", description: "Missing form parameter: grant_type", .rejected),
        .json("grant_type unknown", .login, 400, error: "unsupported_grant_type", description: "Unsupported grant_type", .rejected),
        .json("unknown client >=20", .login, 401, error: "invalid_client", description: "Invalid client or Invalid client credentials", .configuration),
        .json("unknown client <=19", .login, 400, error: "invalid_client", description: "Invalid client credentials", .configuration),
        .json("disabled client <=19", .login, 400, error: "unauthorized_client", description: "Invalid client credentials", .configuration),
        .json("bearer-only client", .login, 400, error: "invalid_client", description: "Bearer-only not allowed", .configuration),
        .json("direct grants disabled >=9", .login, 400, error: "unauthorized_client", description: "Client not allowed for direct access grants", .configuration),
        .json("direct grants disabled <9", .login, 400, error: "invalid_grant", description: "Client not allowed for direct access grants", .configuration),
        .json("client requires consent", .login, 400, error: "invalid_client", description: "Client requires user consent", .configuration),
        .json("invalid scope", .login, 400, error: "invalid_scope", description: "Invalid scopes: bogus", .rejected),
        .json("username missing", .login, 401, error: "invalid_request", description: "Missing parameter: username", .rejected),
        .json("bad credentials <=26.5", .login, 401, error: "invalid_grant", description: "Invalid user credentials", .credentialsRejected),
        .json("bad credentials >=26.6", .login, 400, error: "invalid_grant", description: "Invalid user credentials", .credentialsRejected),
        .json("old brute-force lockout", .login, 400, error: "invalid_grant", description: "Account temporarily disabled", .credentialsRejected),
        .json("user disabled", .login, 400, error: "invalid_grant", description: "Account disabled", .accountNotUsable),
        .json("required action pending", .login, 400, error: "invalid_grant", description: "Account is not fully set up", .accountNotUsable),
        .json("offline not allowed", .login, 400, error: "not_allowed", description: "Offline tokens not allowed for the user or client", .rejected),
        .json("duplicated parameter", .login, 400, error: "invalid_request", description: "duplicated parameter", .rejected),
        .json("other invalid_grant on login", .login, 400, error: "invalid_grant", description: "Something new", .rejected),
    ]

    // §7.3 session-limit denial per version, and the §2 look-alikes that are not denials.
    static let sessionLimitRows: [KeycloakClassifierCase] = [
        .json("deny 17 (500 unknown_error)", .login, 500, error: "unknown_error", .sessionLimitDenied),
        .json("deny 17, newer body", .login, 500, error: "unknown_error", description: "For more on this error consult the server log.", .sessionLimitDenied),
        .json("deny 18-22", .login, 401, error: "generic_authentication_error", description: "sessionLimitExceeded", .sessionLimitDenied),
        .json("deny 18-22 custom text", .login, 401, error: "generic_authentication_error", description: "Only 5 sessions allowed", .sessionLimitDenied),
        .json("deny >=23", .login, 403, error: "There are too many sessions", .sessionLimitDenied),
        .json("deny >=23 custom text", .login, 403, error: "Bitte erst abmelden", .sessionLimitDenied),
        KeycloakClassifierCase(name: "deny >=23 HTML", operation: .login, status: 403, body: "<html><body>There are too many sessions</body></html>", expected: .sessionLimitDenied),
        KeycloakClassifierCase(name: "deny >=23 empty body", operation: .login, status: 403, body: "", expected: .sessionLimitDenied),
        .json("HTTPS required", .login, 403, error: "invalid_request", description: "HTTPS required", .configuration),
        .json("realm disabled", .login, 403, error: "access_denied", description: "Realm not enabled", .configuration),
        .json("unknown_error on refresh", .refresh, 500, error: "unknown_error", .unavailable(outcomeUnknown: false)),
        .json("generic_authentication_error on refresh", .refresh, 401, error: "generic_authentication_error", .rejected),
    ]

    // §4.2 refresh errors: every invalid_grant is a dead session.
    static let refreshRows: [KeycloakClassifierCase] =
        [
            "Invalid refresh token",
            "Invalid token issuer. Expected 'https://a/realms/x', but was 'https://a/auth/realms/x'",
            "Token is not active",
            "Stale token",
            "Invalid refresh token. Token client and authorized client don't match",
            "Unmatching clients",
            "Session not active",
            "Offline user session not found",
            "Offline session not active",
            "User disabled",
            "Refresh token issued before the user session started",
            "Refresh toked issued before the user session started",
            "Session doesn't have required client",
            "Client session not active",
            "Maximum allowed refresh token reuse exceeded",
        ].map { (text: String) -> KeycloakClassifierCase in
            .json("refresh: \(text)", .refresh, 400, error: "invalid_grant", description: text, .sessionDead)
        }
        + [
            .json("refresh: missing token", .refresh, 400, error: "invalid_request", description: "No refresh token", .rejected),
            .json("refresh: consent revoked", .refresh, 400, error: "invalid_scope", description: "Client no longer has requested consent from user", .rejected),
            .json("refresh: unknown client", .refresh, 401, error: "invalid_client", description: "Invalid client or Invalid client credentials", .configuration),
            .json("refresh: disabled client <=19", .refresh, 400, error: "unauthorized_client", description: "Invalid client credentials", .configuration),
            .json("refresh: HTTPS required", .refresh, 403, error: "invalid_request", description: "HTTPS required", .configuration),
            .json("refresh: 401 invalid_grant (mTLS)", .refresh, 401, error: "invalid_grant", description: "Client certificate missing, or its thumbprint and one in the refresh token did NOT match", .sessionDead),
        ]

    // §5 logout.
    static let logoutRows: [KeycloakClassifierCase] = [
        .json("logout: garbage token", .logout, 400, error: "invalid_grant", description: "Invalid refresh token", .sessionDead),
        .json("logout: other client", .logout, 400, error: "invalid_grant", description: "Invalid refresh token. Token client and authorized client don't match", .sessionDead),
        .json("logout: token older than session", .logout, 400, error: "invalid_grant", description: "Toked issued before the user session started", .sessionDead),
        .json("logout: missing token", .logout, 400, error: "invalid_request", description: "No refresh token", .rejected),
        .json("logout: unknown client", .logout, 401, error: "invalid_client", description: "Invalid client or Invalid client credentials", .configuration),
    ]

    // §2 realm, §9 account API, gateways and redirects.
    static let generalRows: [KeycloakClassifierCase] =
        KeycloakOperation.allCases.filter { $0 != .discovery }.flatMap { op -> [KeycloakClassifierCase] in
            [
                .json("\(op): unknown realm", op, 404, error: "Realm does not exist", .configuration),
                .json("\(op): unknown realm, newer body", op, 404, error: "Realm does not exist", description: "For more on this error consult the server log at the debug level.", .configuration),
                KeycloakClassifierCase(name: "\(op): HTML 404", operation: op, status: 404, body: "<html>Not Found</html>", expected: .configuration),
                KeycloakClassifierCase(name: "\(op): 503", operation: op, status: 503, body: "", expected: .unavailable(outcomeUnknown: false)),
                KeycloakClassifierCase(name: "\(op): 502", operation: op, status: 502, body: "<html>Bad Gateway</html>", expected: .unavailable(outcomeUnknown: true)),
                KeycloakClassifierCase(name: "\(op): 504", operation: op, status: 504, body: "", expected: .unavailable(outcomeUnknown: true)),
                KeycloakClassifierCase(name: "\(op): 429", operation: op, status: 429, body: "", expected: .unavailable(outcomeUnknown: false)),
                KeycloakClassifierCase(name: "\(op): 302", operation: op, status: 302, body: "", headers: [KeycloakHTTPHeader("Location", "https://other/login")], expected: .configuration),
                KeycloakClassifierCase(name: "\(op): status 99", operation: op, status: 99, body: "", expected: .malformedResponse),
                KeycloakClassifierCase(name: "\(op): status 700", operation: op, status: 700, body: "", expected: .malformedResponse),
            ]
        } + [
            KeycloakClassifierCase(
                name: "account: 401 session gone", operation: .accountSessions, status: 401, body: "",
                headers: [KeycloakHTTPHeader("WWW-Authenticate", #"Bearer realm="acme", error="invalid_token", error_description="Session expired""#)],
                expected: .sessionDead),
            KeycloakClassifierCase(
                name: "account: 401 bad token", operation: .accountSessions, status: 401, body: "",
                headers: [KeycloakHTTPHeader("WWW-Authenticate", #"Bearer realm="acme", error="invalid_token", error_description="Token verification failed""#)],
                expected: .rejected),
            KeycloakClassifierCase(name: "account: 401 no challenge", operation: .deleteAccountSession, status: 401, body: "", expected: .rejected),
            KeycloakClassifierCase(name: "account: 403 missing role", operation: .accountSessions, status: 403, body: "", expected: .configuration),
            KeycloakClassifierCase(name: "delete: 403 missing role", operation: .deleteAccountSession, status: 403, body: "", expected: .configuration),
        ]

    @Test("password grant errors (§3.2)", arguments: passwordGrantRows)
    func passwordGrant(_ c: KeycloakClassifierCase) {
        #expect(failureKind(classify(c)) == c.expected)
    }

    @Test("session limit denial per version (§7.3)", arguments: sessionLimitRows)
    func sessionLimit(_ c: KeycloakClassifierCase) {
        #expect(failureKind(classify(c)) == c.expected)
    }

    @Test("refresh errors (§4.2)", arguments: refreshRows)
    func refresh(_ c: KeycloakClassifierCase) {
        #expect(failureKind(classify(c)) == c.expected)
    }

    @Test("logout errors (§5)", arguments: logoutRows)
    func logout(_ c: KeycloakClassifierCase) {
        #expect(failureKind(classify(c)) == c.expected)
    }

    @Test("realm, gateway, redirect and account API errors", arguments: generalRows)
    func general(_ c: KeycloakClassifierCase) {
        #expect(failureKind(classify(c)) == c.expected)
    }

    @Test("errors carry status and OAuth error")
    func errorFields() throws {
        let outcome = classify(.json("", .login, 401, error: "invalid_grant", description: "Invalid user credentials", .credentialsRejected))
        guard case .failure(let error) = outcome else { Issue.record("expected failure"); return }
        #expect(error.status == 401)
        #expect(error.oauthError == "invalid_grant")
        #expect(error.message.contains("Invalid user credentials"))
        #expect(!error.isTransient)
    }

    // MARK: - Success bodies

    @Test("§3.1 token response")
    func tokenResponse() throws {
        let body = KeycloakFixtures.tokenBody(extra: #""id_token":"x.y.z""#)
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: body), for: .login)
        guard case .tokens(let tokens) = outcome else { Issue.record("got \(outcome)"); return }
        #expect(tokens.accessToken == KeycloakFixtures.jwt())
        #expect(tokens.refreshToken == "eyJhbGciOiJIUzI1NiJ9.cmVmcmVzaA.c2ln")
        #expect(tokens.sessionState == "11111111-2222-3333-4444-555555555555")
        #expect(tokens.expiresIn == 300)
        #expect(tokens.refreshExpiresIn == 1800)
        #expect(tokens.scope == "openid profile email")
    }

    @Test("offline token: refresh_expires_in 0, no scope, refresh op")
    func offlineToken() {
        let body = KeycloakFixtures.tokenBody(refreshExpiresIn: "0", scope: nil)
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: body), for: .refresh)
        guard case .tokens(let tokens) = outcome else { Issue.record("got \(outcome)"); return }
        #expect(tokens.refreshExpiresIn == 0)
        #expect(tokens.scope == nil)
    }

    @Test("missing session_state falls back to the access token's sid claim")
    func sidFallback() {
        let body = KeycloakFixtures.tokenBody(access: KeycloakFixtures.jwt(sid: "abc-123"), sessionState: nil)
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: body), for: .login)
        guard case .tokens(let tokens) = outcome else { Issue.record("got \(outcome)"); return }
        #expect(tokens.sessionState == "abc-123")
    }

    @Test("no refresh token (client's 'Use refresh tokens' off) is a configuration error")
    func noRefreshToken() {
        let body = KeycloakFixtures.tokenBody(refresh: nil)
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: body), for: .login)
        #expect(failureKind(outcome) == .configuration)
    }

    static let malformedTokenBodies: [(String, String)] = [
        ("HTML", "<html><body>Welcome to the SSO gateway</body></html>"),
        ("empty", ""),
        ("array", "[]"),
        ("null", "null"),
        ("truncated", #"{"access_token":"a","#),
        ("no access_token", KeycloakFixtures.tokenBody(access: nil)),
        ("empty access_token", KeycloakFixtures.tokenBody(access: "")),
        ("no expires_in", KeycloakFixtures.tokenBody(expiresIn: nil)),
        ("no refresh_expires_in", KeycloakFixtures.tokenBody(refreshExpiresIn: nil)),
        ("expires_in as string", KeycloakFixtures.tokenBody(expiresIn: #""300""#)),
        ("expires_in bool", KeycloakFixtures.tokenBody(expiresIn: "true")),
        ("negative expires_in", KeycloakFixtures.tokenBody(expiresIn: "-1")),
        ("zero expires_in", KeycloakFixtures.tokenBody(expiresIn: "0")),
        ("absurd expires_in", KeycloakFixtures.tokenBody(expiresIn: "400000000")),
        ("huge refresh_expires_in", KeycloakFixtures.tokenBody(refreshExpiresIn: "1e400")),
        ("no session_state and opaque token", KeycloakFixtures.tokenBody(access: "opaque", sessionState: nil)),
        ("access_token number", #"{"access_token":5,"refresh_token":"r","expires_in":1,"refresh_expires_in":1,"session_state":"s"}"#),
    ]

    @Test("malformed 200 bodies", arguments: malformedTokenBodies)
    func malformedToken(_ row: (String, String)) {
        for op in [KeycloakOperation.login, .refresh] {
            let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: row.1), for: op)
            #expect(failureKind(outcome) == .malformedResponse, "\(row.0)")
        }
    }

    @Test("other 2xx, oversized and truncated bodies are malformed")
    func oversized() {
        let ok = KeycloakFixtures.tokenBody()
        let big = KeycloakHTTPResponse(status: 200, body: [UInt8](repeating: 0x20, count: (1 << 20) + 1))
        #expect(failureKind(KeycloakResponseClassifier.classify(big, for: .login)) == .malformedResponse)
        let flagged = KeycloakHTTPResponse(status: 200, headers: [], body: Array(ok.utf8), bodyExceededLimit: true)
        #expect(failureKind(KeycloakResponseClassifier.classify(flagged, for: .refresh)) == .malformedResponse)
        let noContent = KeycloakHTTPResponse(status: 204, body: "")
        #expect(failureKind(KeycloakResponseClassifier.classify(noContent, for: .login)) == .malformedResponse)
        #expect(failureKind(KeycloakResponseClassifier.classify(flagged, for: .accountSessions)) == .malformedResponse)
    }

    @Test("logout and delete succeed on 204 and 200")
    func emptySuccess() {
        for op in [KeycloakOperation.logout, .deleteAccountSession] {
            for status in [200, 204] {
                #expect(KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: status, body: ""), for: op) == .done)
            }
        }
    }

    @Test("§9 account session list")
    func accountSessions() {
        let body = """
            [{"id":"s1","ipAddress":"10.0.0.1","started":1700000000,"lastAccess":1700000100,"expires":1700036000,\
            "clients":[{"clientId":"ocp-cli","clientName":"OCP","userConsentRequired":false}],"current":true,\
            "browser":"Other/Unknown"},{"id":"s2","started":1700000200,"lastAccess":1700000300,"clients":[]}]
            """
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: body), for: .accountSessions)
        #expect(
            outcome
                == .sessions([
                    AccountSession(id: "s1", started: 1_700_000_000, lastAccess: 1_700_000_100, clientIDs: ["ocp-cli"]),
                    AccountSession(id: "s2", started: 1_700_000_200, lastAccess: 1_700_000_300, clientIDs: []),
                ])
        )
        for bad in ["{}", #"[{"id":"x"}]"#, #"[{"id":"","started":1,"lastAccess":1}]"#,
            #"[{"id":"x","started":-5,"lastAccess":1}]"#, #"[{"id":"x","started":1e300,"lastAccess":1}]"#, "<html/>"]
        {
            let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 200, body: bad), for: .accountSessions)
            #expect(failureKind(outcome) == .malformedResponse, "\(bad)")
        }
    }

    // MARK: - Transport failures

    @Test("transport failures")
    func transportFailures() {
        for op in KeycloakOperation.allCases {
            #expect(KeycloakResponseClassifier.classify(.notSent("connection refused"), for: op).kind == .unavailable(outcomeUnknown: false))
            #expect(KeycloakResponseClassifier.classify(.sentWithoutAnswer("reset"), for: op).kind == .unavailable(outcomeUnknown: true))
            #expect(KeycloakResponseClassifier.classify(.tls("certificate verify failed"), for: op).kind == .configuration)
            #expect(KeycloakResponseClassifier.classify(.configuration("bad proxy"), for: op).kind == .configuration)
        }
    }

    // MARK: - Messages

    @Test("messages are one line and never quote tokens")
    func messageHygiene() {
        let jwt = KeycloakFixtures.jwt()
        let nasty = "Token \(jwt) is bad\n\r\u{1b}[31mred\u{202e}evil\t" + String(repeating: "x", count: 5000)
        let body = try! String(data: JSONSerialization.data(withJSONObject: ["error": "invalid_grant", "error_description": nasty]), encoding: .utf8)!
        let outcome = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: 400, body: body), for: .refresh)
        guard case .failure(let error) = outcome else { Issue.record("expected failure"); return }
        #expect(error.kind == .sessionDead)
        #expect(!error.message.contains(jwt))
        #expect(!error.message.contains("\n") && !error.message.contains("\r") && !error.message.contains("\u{1b}"))
        #expect(!error.message.contains("\u{202e}"))
        #expect(error.message.count < 400)
        let long = String(repeating: "A", count: 64)
        #expect(KeycloakErrorText.quote("token \(long) end") == "token <redacted> end")
        #expect(KeycloakErrorText.quote("id 11111111-2222-3333-4444-555555555555") == "id 11111111-2222-3333-4444-555555555555")
        // Inside punctuation too (a token quoted in JSON), while URLs stay readable.
        #expect(KeycloakErrorText.quote(#"{"access_token":"\#(jwt)","x":1}"#) == #"{"access_token":"<redacted>","x":1}"#)
        #expect(KeycloakErrorText.quote("'\(long)'") == "'<redacted>'")
        let url = "'https://sso.example.com/realms/acme/protocol/openid-connect/token'"
        #expect(KeycloakErrorText.quote(url) == url)
    }

    @Test("WWW-Authenticate parsing tolerates junk")
    func challengeParsing() {
        let parsed = KeycloakResponseClassifier.bearerChallenge(#"Bearer realm="a", error="invalid_token", error_description="say \"hi\"""#)
        #expect(parsed.error == "invalid_token")
        #expect(parsed.errorDescription == #"say "hi""#)
        for junk in ["", "=", "\"", "error=", #"error=""#, "Bearer ,,,,", "error=\"\\", String(repeating: "a=b,", count: 5000)] {
            _ = KeycloakResponseClassifier.bearerChallenge(junk)
        }
    }
}
