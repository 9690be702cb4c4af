/// Turns one Keycloak answer (status, headers, body) for one operation into tokens, sessions,
/// success, or a typed ``IdPError``, following §13 of the Keycloak behaviour doc across versions.
///
/// Pure and total: any bytes yield an outcome, never a trap, so it can be fuzzed and tested with
/// canned answers without a network.
public enum KeycloakResponseClassifier {
    /// Largest body the client reads (1 MiB); anything larger is `malformedResponse`.
    public static let maxBodyBytes = 1 << 20
    /// Lifetimes above ten years are treated as nonsense rather than scheduled.
    public static let maxLifetimeSeconds: Double = 10 * 365.25 * 86_400

    /// What an answer means.
    public enum Outcome: Sendable, Equatable {
        /// Login or refresh succeeded.
        case tokens(TokenSet)
        /// The account API listed the user's sessions.
        case sessions([AccountSession])
        /// An operation without a result (logout, delete, discovery's 2xx) succeeded.
        case done
        case failure(IdPError)
    }

    /// Classifies an HTTP answer to `operation`.
    public static func classify(_ response: KeycloakHTTPResponse, for operation: KeycloakOperation) -> Outcome {
        switch response.status {
        case 200...299:
            return success(response, operation)
        case 300...599:
            return .failure(error(for: response, operation))
        default:
            return .failure(
                IdPError(
                    .malformedResponse,
                    "Keycloak \(operation.noun) answered with an invalid HTTP status \(response.status)",
                    status: response.status
                )
            )
        }
    }

    /// Classifies a request that got no HTTP answer. `outcomeUnknown` is true only when the
    /// request was sent, since only then may Keycloak have acted on it.
    public static func classify(_ failure: KeycloakTransportFailure, for operation: KeycloakOperation) -> IdPError {
        switch failure {
        case .notSent(let why):
            return IdPError(
                .unavailable(outcomeUnknown: false),
                "could not reach Keycloak for \(operation.noun): \(KeycloakErrorText.quote(why))"
            )
        case .sentWithoutAnswer(let why):
            return IdPError(
                .unavailable(outcomeUnknown: true),
                "no answer from Keycloak for \(operation.noun) after the request was sent "
                    + "(\(KeycloakErrorText.quote(why))); it may have been processed"
            )
        case .tls(let why):
            return IdPError(
                .configuration,
                "TLS connection to Keycloak failed (\(KeycloakErrorText.quote(why))); check the host name "
                    + "and give the CA that signed Keycloak's certificate as the CA file"
            )
        case .configuration(let why):
            return IdPError(.configuration, KeycloakErrorText.quote(why, limit: 300))
        }
    }

    // MARK: - Success

    private static func success(_ response: KeycloakHTTPResponse, _ operation: KeycloakOperation) -> Outcome {
        let tooLarge = response.bodyExceededLimit || response.body.count > maxBodyBytes
        func malformed(_ why: String) -> Outcome {
            .failure(IdPError(.malformedResponse, "Keycloak \(operation.noun) answer \(why)", status: response.status))
        }
        switch operation {
        case .login, .refresh:
            guard response.status == 200 else { return malformed("was HTTP \(response.status) without tokens") }
            let outcome = tooLarge ? malformed("is larger than 1 MiB") : tokenSet(from: response, operation)
            // A 200 that carries tokens we refuse, or that we could not read to the end, most
            // likely created a session; a portal page or an empty 200 did not.
            guard case .failure(var error) = outcome,
                tooLarge || response.body.firstRange(of: Array(#""access_token""#.utf8)) != nil
            else { return outcome }
            error.mayHaveCreatedSession = true
            return .failure(error)
        case .accountSessions:
            guard response.status == 200 else { return malformed("was HTTP \(response.status) without a session list") }
            guard !tooLarge else { return malformed("is larger than 1 MiB") }
            return accountSessions(from: response, operation)
        case .logout, .deleteAccountSession, .discovery:
            return .done
        }
    }

    private static func tokenSet(from response: KeycloakHTTPResponse, _ operation: KeycloakOperation) -> Outcome {
        func malformed(_ why: String) -> Outcome {
            .failure(IdPError(.malformedResponse, "Keycloak \(operation.noun) answer \(why)", status: response.status))
        }
        guard let body = KeycloakResponseBodies.decode(KeycloakResponseBodies.Token.self, from: response.body) else {
            return malformed("is not the expected token JSON")
        }
        guard let access = body.accessToken, !access.isEmpty else { return malformed("has no access_token") }
        // Printed alone on stdout and put into Authorization headers: a space, line break or
        // control character would split the output or inject a header.
        guard isPlausibleToken(access) else { return malformed("has a malformed access_token") }
        guard let refresh = body.refreshToken, !refresh.isEmpty else {
            // Not transient: Keycloak omits it when the client's "Use refresh tokens" is off, and
            // without it the session can be neither refreshed nor logged out.
            return .failure(
                IdPError(
                    .configuration,
                    "Keycloak issued no refresh token; turn on \"Use refresh tokens\" in the client's "
                        + "OpenID Connect compatibility settings",
                    status: response.status
                )
            )
        }
        guard isPlausibleToken(refresh) else { return malformed("has a malformed refresh_token") }
        guard let expiresIn = body.expiresIn else { return malformed("has no expires_in") }
        // An access token valid for no time at all would be a dead token the moment it is handed out.
        guard isPlausibleLifetime(expiresIn), expiresIn > 0 else { return malformed("has an implausible expires_in") }
        guard let refreshExpiresIn = body.refreshExpiresIn else { return malformed("has no refresh_expires_in") }
        guard isPlausibleLifetime(refreshExpiresIn) else { return malformed("has an implausible refresh_expires_in") }
        let session = body.sessionState.flatMap { $0.isEmpty ? nil : $0 }
            ?? KeycloakResponseBodies.sessionIDClaim(ofJWT: access)
        guard let session else { return malformed("has no session_state") }
        // It becomes a row id, a column in `list` and a URL path segment.
        guard isPlausibleSessionID(session) else { return malformed("has a malformed session_state") }
        return .tokens(
            TokenSet(
                accessToken: access, refreshToken: refresh, sessionState: session, expiresIn: expiresIn,
                refreshExpiresIn: refreshExpiresIn, scope: body.scope
            )
        )
    }

    /// Visible ASCII only (RFC 6750's b64token and every JWT are), and not absurdly long.
    static func isPlausibleToken(_ token: String) -> Bool {
        token.utf8.count <= 64 * 1024 && token.utf8.allSatisfy { (0x21...0x7e).contains($0) }
    }

    /// Keycloak's session ids are UUIDs or similar: short, visible ASCII, nothing a path or a
    /// table could misread.
    static func isPlausibleSessionID(_ id: String) -> Bool {
        id.utf8.count <= 128 && id.utf8.allSatisfy { byte in
            (0x21...0x7e).contains(byte) && !"/?#%\\\"'".utf8.contains(byte)
        }
    }

    private static func isPlausibleLifetime(_ seconds: Double) -> Bool {
        seconds.isFinite && seconds >= 0 && seconds <= maxLifetimeSeconds
    }

    private static func accountSessions(from response: KeycloakHTTPResponse, _ operation: KeycloakOperation) -> Outcome {
        func malformed(_ why: String) -> Outcome {
            .failure(IdPError(.malformedResponse, "Keycloak \(operation.noun) answer \(why)", status: response.status))
        }
        guard
            let list = KeycloakResponseBodies.decode([KeycloakResponseBodies.AccountSession].self, from: response.body)
        else { return malformed("is not the expected JSON array of sessions") }
        var sessions: [AccountSession] = []
        sessions.reserveCapacity(list.count)
        for item in list {
            guard !item.id.isEmpty else { return malformed("has a session without an id") }
            // Epoch seconds; anything negative or beyond the year ~5000 is not a timestamp.
            guard isPlausibleTimestamp(item.started), isPlausibleTimestamp(item.lastAccess) else {
                return malformed("has implausible session times")
            }
            let clients = (item.clients ?? []).compactMap(\.clientId)
            sessions.append(
                AccountSession(id: item.id, started: item.started, lastAccess: item.lastAccess, clientIDs: clients)
            )
        }
        return .sessions(sessions)
    }

    private static func isPlausibleTimestamp(_ seconds: Double) -> Bool {
        seconds.isFinite && seconds >= 0 && seconds < 1e11
    }

    // MARK: - Errors

    /// An answer with status 3xx-5xx.
    static func error(for response: KeycloakHTTPResponse, _ operation: KeycloakOperation) -> IdPError {
        let status = response.status
        let body: KeycloakResponseBodies.OAuthError? =
            response.bodyExceededLimit
            ? nil : KeycloakResponseBodies.decode(KeycloakResponseBodies.OAuthError.self, from: response.body)
        var oauth = body?.error
        var description = body?.errorDescription
        if oauth == nil, description == nil, let challenge = response.header("WWW-Authenticate") {
            // Bearer endpoints (account API) put the error in the challenge, with an empty body.
            let parsed = bearerChallenge(challenge)
            oauth = parsed.error
            description = parsed.errorDescription
        }
        let code = oauth?.lowercased() ?? ""
        let text = description?.lowercased() ?? ""
        let said = KeycloakErrorText.oauthSummary(error: oauth, description: description)
        let detail = "HTTP \(status)" + (said.map { ", \($0)" } ?? "")
        func make(_ kind: IdPError.Kind, _ message: String) -> IdPError {
            IdPError(kind, "\(message) (\(detail))", status: status, oauthError: oauth.map { KeycloakErrorText.quote($0, limit: 60) })
        }

        switch status {
        case 300...399:
            let location = response.header("Location").map { " to \(KeycloakErrorText.quote($0, limit: 120))" } ?? ""
            return make(
                .configuration,
                "Keycloak \(operation.noun) was redirected\(location); configure the final https:// address of Keycloak"
            )
        case 500...599:
            if operation == .login, status == 500, code == "unknown_error" {
                // Keycloak 17 fails the direct-grant flow this way when the session limiter denies.
                return make(.sessionLimitDenied, "Keycloak refused a new session (session limit reached)")
            }
            // A gateway's 502/504 means the request may have reached Keycloak and been processed.
            let maybeProcessed = status == 502 || status == 504
            return make(.unavailable(outcomeUnknown: maybeProcessed), "Keycloak \(operation.noun) failed on the server side")
        default:
            break
        }

        // 4xx. Configuration problems first: they look the same for every operation.
        if code.contains("realm does not exist") || text.contains("realm does not exist") {
            return make(.configuration, "unknown realm; check the realm name (it is case-sensitive)")
        }
        if status == 404 {
            return make(
                .configuration,
                "Keycloak has no \(operation.noun) endpoint at the configured address; check the URL and base path "
                    + "(Keycloak 16 and older, and some installations, serve under /auth)"
            )
        }
        if text.contains("https required") {
            return make(.configuration, "Keycloak requires HTTPS for this realm; use an https:// URL")
        }
        if code == "access_denied" && (status == 403 || text.contains("realm not enabled")) {
            return make(.configuration, "the realm is disabled or denies access; ask the Keycloak administrator")
        }
        if status == 403 && code == "invalid_request" {
            return make(.configuration, "Keycloak refused the request as configured; check the URL and the client")
        }
        if code == "invalid_client" {
            let hint =
                text.contains("consent")
                ? "the client requires user consent, which a password grant cannot give; turn consent off"
                : text.contains("bearer-only")
                    ? "the client is bearer-only; use a client that may log in"
                    : "check the client id (and the client secret for a confidential client)"
            return make(.configuration, "Keycloak does not accept this client: \(hint)")
        }
        if code == "unauthorized_client" || text.contains("not allowed for direct access grants") {
            return make(
                .configuration,
                "the client may not use the password grant, or is disabled; enable \"Direct access grants\" for it"
            )
        }
        if status == 429 {
            return make(.unavailable(outcomeUnknown: false), "Keycloak (or a proxy) is rate-limiting requests")
        }

        switch operation {
        case .login:
            if code == "invalid_grant" {
                if text.contains("invalid user credentials") || text.contains("temporarily disabled") {
                    return make(
                        .credentialsRejected,
                        "Keycloak rejected the username or password (a brute-force lockout answers the same)"
                    )
                }
                if text.contains("account disabled") || text.contains("not fully set up") {
                    return make(
                        .accountNotUsable,
                        "the account cannot log in (disabled, or a required action such as a password update is pending)"
                    )
                }
                return make(.rejected, "Keycloak rejected the login")
            }
            if code == "generic_authentication_error" && (status == 401 || status == 400) {
                // Keycloak 18-22: the session limiter's denial.
                return make(.sessionLimitDenied, "Keycloak refused a new session (session limit reached)")
            }
            if status == 403 {
                // Keycloak >= 23: the session limiter's denial (JSON or, without JSON Accept, HTML).
                return make(.sessionLimitDenied, "Keycloak refused a new session (session limit reached)")
            }
            return make(.rejected, "Keycloak rejected the login request")
        case .refresh:
            if code == "invalid_grant" {
                return make(.sessionDead, "the Keycloak session behind the refresh token has ended")
            }
            return make(.rejected, "Keycloak rejected the token refresh")
        case .logout:
            if code == "invalid_grant" {
                // The token no longer identifies a session that a logout could end.
                return make(.sessionDead, "Keycloak has no session for this refresh token")
            }
            return make(.rejected, "Keycloak rejected the logout")
        case .accountSessions, .deleteAccountSession:
            if status == 401 {
                let ended = ["session", "stale", "disabled", "not active", "expired"].contains { text.contains($0) }
                return make(
                    ended ? .sessionDead : .rejected,
                    ended
                        ? "the Keycloak session behind the access token has ended"
                        : "Keycloak's account API did not accept the access token"
                )
            }
            if status == 403 {
                return make(
                    .configuration,
                    "the account API needs the user's account roles (view-profile, and manage-account to delete)"
                )
            }
            return make(.rejected, "Keycloak rejected the \(operation.noun)")
        case .discovery:
            return make(.rejected, "Keycloak rejected the discovery request")
        }
    }

    /// `error` and `error_description` parameters of a `WWW-Authenticate: Bearer ...` challenge.
    static func bearerChallenge(_ header: String) -> KeycloakResponseBodies.OAuthError {
        var error: String?
        var description: String?
        var scalars = Array(header.unicodeScalars.prefix(4096))[...]
        while !scalars.isEmpty {
            // name
            while let s = scalars.first, s == " " || s == "," || s == "\t" { scalars.removeFirst() }
            var name = ""
            while let s = scalars.first, s != "=", s != ",", s != " " {
                name.unicodeScalars.append(s)
                scalars.removeFirst()
            }
            guard scalars.first == "=" else {
                // An auth scheme token such as "Bearer", or junk: skip it.
                if !scalars.isEmpty { scalars.removeFirst() }
                continue
            }
            scalars.removeFirst()
            var value = ""
            if scalars.first == "\"" {
                scalars.removeFirst()
                while let s = scalars.popFirst(), s != "\"" {
                    if s == "\\", let escaped = scalars.popFirst() {
                        value.unicodeScalars.append(escaped)
                    } else {
                        value.unicodeScalars.append(s)
                    }
                }
            } else {
                while let s = scalars.first, s != "," {
                    value.unicodeScalars.append(s)
                    scalars.removeFirst()
                }
            }
            switch name.lowercased() {
            case "error": error = value
            case "error_description": description = value
            default: break
            }
        }
        return .init(error: error, errorDescription: description)
    }
}
