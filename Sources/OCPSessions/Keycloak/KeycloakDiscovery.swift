/// Finds a realm's endpoints from the configured Keycloak address.
///
/// Keycloak serves under `/auth` up to 16 (and when configured so later) and under `/` from 17,
/// so both are tried. Discovery is a cold-path operation: cache the result
/// (``KeycloakEndpoints`` is `Codable`) and pass it to the client next time.
public enum KeycloakDiscovery {
    /// The discovery URLs tried, in order: `{host}/auth/realms/{realm}/...` then
    /// `{host}/realms/{realm}/...`, or the other way round when `host` already ends in `/auth`.
    public static func candidateURLs(host: String, realm: String) throws(IdPError) -> [String] {
        try realmURLs(host: host, realm: realm).map { $0 + "/.well-known/openid-configuration" }
    }

    /// Runs discovery: one GET per candidate until one answers with a discovery document.
    ///
    /// - Throws: `.configuration` for a bad host URL, an unknown realm (`Realm does not exist`),
    ///   a TLS problem or a discovery document naming URLs the policy forbids;
    ///   `.unavailable` when Keycloak could not be reached or answered 5xx (nothing to cache then).
    /// - Returns: the discovered endpoints; or, when Keycloak answered but served no discovery
    ///   document at any candidate (e.g. HTML 404s), the fixed paths under
    ///   `{host}/auth/realms/{realm}` with `discovered == false`.
    public static func discover(
        host: String, realm: String, transport: any KeycloakTransport
    ) async throws(IdPError) -> KeycloakEndpoints {
        let normalizedHost = try KeycloakURLPolicy.checkHost(host).string
        var realmMissing: IdPError?
        var unavailable: IdPError?
        for url in try candidateURLs(host: host, realm: realm) {
            let request = KeycloakHTTPRequest(
                method: .get, url: url, headers: [KeycloakHTTPHeader("Accept", "application/json")]
            )
            let response: KeycloakHTTPResponse
            do {
                response = try await transport.send(request)
            } catch {
                // The same host answers every candidate: if it cannot be reached, neither can the next.
                throw KeycloakResponseClassifier.classify(error, for: .discovery)
            }
            switch try interpret(response, host: normalizedHost, realm: realm) {
            case .document(let endpoints):
                return endpoints
            case .realmMissing(let error):
                realmMissing = realmMissing ?? error
            case .unavailable(let error):
                unavailable = unavailable ?? error
            case .notDiscovery:
                continue
            }
        }
        // Never cache a guess made while Keycloak was failing.
        if let unavailable { throw unavailable }
        if let realmMissing { throw realmMissing }
        return try fallbackEndpoints(host: host, realm: realm)
    }

    /// The endpoints Keycloak uses when no discovery document is available: the fixed paths
    /// under `{host}/auth/realms/{realm}` (or `{host}/realms/{realm}` if `host` ends in `/auth`).
    public static func fallbackEndpoints(host: String, realm: String) throws(IdPError) -> KeycloakEndpoints {
        let checked = try KeycloakURLPolicy.checkHost(host)
        let realmURL = try realmURLs(host: host, realm: realm)[0]
        let endpoints = KeycloakEndpoints.fixed(host: checked.string, realm: realm, realmURL: realmURL, discovered: false)
        try endpoints.validate()
        return endpoints
    }

    /// What one candidate's answer says.
    enum CandidateResult: Equatable {
        case document(KeycloakEndpoints)
        case realmMissing(IdPError)
        case unavailable(IdPError)
        case notDiscovery
    }

    /// Interprets one candidate's answer (pure). Throws when the answer is a discovery document
    /// whose endpoint URLs break the URL policy.
    static func interpret(_ response: KeycloakHTTPResponse, host: String, realm: String) throws(IdPError) -> CandidateResult {
        if response.status == 200, !response.bodyExceededLimit, response.body.count <= KeycloakResponseClassifier.maxBodyBytes,
            let doc = KeycloakResponseBodies.decode(KeycloakResponseBodies.Discovery.self, from: response.body),
            let token = doc.tokenEndpoint
        {
            return .document(try endpoints(from: doc, token: token, host: host, realm: realm))
        }
        guard (300...599).contains(response.status) else { return .notDiscovery }
        let error = KeycloakResponseClassifier.error(for: response, .discovery)
        if response.status == 404, !response.bodyExceededLimit,
            let body = KeycloakResponseBodies.decode(KeycloakResponseBodies.OAuthError.self, from: response.body),
            "\(body.error ?? "") \(body.errorDescription ?? "")".lowercased().contains("realm does not exist")
        {
            return .realmMissing(error)
        }
        if case .unavailable = error.kind { return .unavailable(error) }
        return .notDiscovery
    }

    private static func endpoints(
        from doc: KeycloakResponseBodies.Discovery, token: String, host: String, realm: String
    ) throws(IdPError) -> KeycloakEndpoints {
        let tokenURL = try KeycloakURLPolicy.checkEndpoint(token, what: "discovered token endpoint").string
        let oidcSuffix = "/protocol/openid-connect/token"
        // The realm URL as reached through the token endpoint (Keycloak builds it from the backend
        // address, which is the one this machine can reach; the issuer may be a frontend name).
        let realmURL: String
        if tokenURL.hasSuffix(oidcSuffix) {
            realmURL = String(tokenURL.dropLast(oidcSuffix.count))
        } else if let issuer = doc.issuer, !issuer.isEmpty {
            realmURL = try KeycloakURLPolicy.checkEndpoint(issuer, what: "discovered issuer").string
        } else {
            throw IdPError(
                .configuration,
                "the discovery document's token endpoint is not a Keycloak one and it names no issuer"
            )
        }
        let fixed = KeycloakEndpoints.fixed(host: host, realm: realm, realmURL: realmURL, discovered: true)
        let endpoints = KeycloakEndpoints(
            host: host, realm: realm,
            issuer: doc.issuer.flatMap(plausibleIssuer) ?? fixed.issuer,
            token: tokenURL,
            logout: doc.endSessionEndpoint ?? fixed.logout,
            userinfo: doc.userinfoEndpoint ?? fixed.userinfo,
            revocation: doc.revocationEndpoint ?? fixed.revocation,
            account: fixed.account,
            discovered: true
        )
        do {
            try endpoints.validate()
        } catch {
            throw IdPError(
                .configuration,
                "Keycloak's discovery document is not usable: \(error.message); if Keycloak runs behind a "
                    + "TLS proxy, configure its hostname/proxy settings so it advertises https:// URLs"
            )
        }
        return endpoints
    }

    /// The issuer is stored, never called, so it is only required to be printable and bounded.
    private static func plausibleIssuer(_ issuer: String) -> String? {
        let printable = issuer.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f }
        return !issuer.isEmpty && issuer.utf8.count <= 2048 && printable ? issuer : nil
    }

    /// `{base}/realms/{realm}` candidates in the order they are tried.
    private static func realmURLs(host: String, realm: String) throws(IdPError) -> [String] {
        let base = try KeycloakURLPolicy.checkHost(host).string
        guard !realm.isEmpty else { throw IdPError(.configuration, "the realm name is empty") }
        guard realm.utf8.count <= 255 else { throw IdPError(.configuration, "the realm name is too long") }
        let segment = "/realms/" + KeycloakFormEncoding.pathSegment(realm)
        if base.hasSuffix("/auth") {
            return [base + segment, base + "/auth" + segment]
        }
        return [base + "/auth" + segment, base + segment]
    }
}
