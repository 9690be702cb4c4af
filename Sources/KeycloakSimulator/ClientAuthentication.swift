import Foundation

/// Client authentication as Keycloak 20+ does it for the token, logout and revocation endpoints
/// (§3.2): the client id and secret come from HTTP Basic or from the form.
struct ClientAuthentication: Sendable {
    /// The authenticated client.
    struct Client: Sendable, Equatable {
        var id: String
        var isPublic: Bool
    }

    /// Why authentication failed; endpoints turn it into their own response.
    enum Failure: Error, Sendable, Equatable {
        /// No client was identified (missing or unknown id, unreadable Basic header).
        case clientNotFound
        /// A confidential client with a missing or wrong secret.
        case invalidCredentials

        /// The token endpoint's answer (§3.2, ≥ 20).
        var response: SimResponse {
            switch self {
            case .clientNotFound:
                .oauthError(.unauthorized, "invalid_client", "Invalid client or Invalid client credentials")
            case .invalidCredentials:
                .oauthError(.unauthorized, "unauthorized_client", "Invalid client or Invalid client credentials")
            }
        }
    }

    let configuration: SimulatorConfiguration

    func authenticate(_ request: SimRequest, form: FormBody) -> Result<Client, Failure> {
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        if let authorization = request.headers.first(name: "authorization"),
            authorization.lowercased().hasPrefix("basic ")
        {
            guard let basic = Self.parseBasic(authorization) else { return .failure(.clientNotFound) }
            // A different id in the form than in the header identifies no client.
            if let formID = clientID, formID != basic.id { return .failure(.clientNotFound) }
            clientID = basic.id
            secret = basic.secret
        }
        guard let clientID else { return .failure(.clientNotFound) }
        if configuration.publicClients.contains(clientID) {
            return .success(Client(id: clientID, isPublic: true))
        }
        guard let expected = configuration.confidentialClients[clientID] else { return .failure(.clientNotFound) }
        guard secret == expected else { return .failure(.invalidCredentials) }
        return .success(Client(id: clientID, isPublic: false))
    }

    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1); `ocp:` for a public client.
    private static func parseBasic(_ header: String) -> (id: String, secret: String)? {
        let encoded = header.dropFirst("basic ".count).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":")
        else { return nil }
        let id = FormBody.percentDecoded(decoded[..<colon])
        let secret = FormBody.percentDecoded(decoded[decoded.index(after: colon)...])
        return id.isEmpty ? nil : (id, secret)
    }
}
