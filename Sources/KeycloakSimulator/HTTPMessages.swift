import Foundation
import NIOHTTP1

/// A complete HTTP request as the endpoints see it.
struct SimRequest: Sendable {
    var method: HTTPMethod
    /// The path without the query string, as sent (not percent-decoded).
    var path: String
    var query: FormBody
    var headers: HTTPHeaders
    var body: [UInt8]

    init(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        query = FormBody(parts.count > 1 ? String(parts[1]) : "")
        self.headers = headers
        self.body = body
    }

    /// The form body, or `nil` when the request declares another content type (RESTEasy's 415).
    /// A request without a content type is read as a form.
    var form: FormBody? {
        if let contentType = headers.first(name: "content-type"),
            Self.mediaType(contentType) != "application/x-www-form-urlencoded"
        {
            return nil
        }
        return FormBody(body)
    }

    /// Whether `Accept` lists `application/json`; `*/*` does not count (`isJsonRequest`, §7.3).
    var acceptsJSON: Bool { acceptedMediaTypes.contains("application/json") }

    /// Whether `Accept` asks for an HTML page.
    var acceptsHTML: Bool { acceptedMediaTypes.contains("text/html") }

    /// The token of an `Authorization: Bearer` header.
    var bearerToken: String? {
        guard let authorization = headers.first(name: "authorization") else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    private var acceptedMediaTypes: [String] {
        headers["accept"].flatMap { $0.split(separator: ",") }.map { Self.mediaType(String($0)) }
    }

    private static func mediaType(_ headerValue: String) -> String {
        let type = headerValue.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingCharacters(in: .whitespaces).lowercased()
    }
}

/// A response to write.
struct SimResponse: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders = [:]
    var body: [UInt8] = []

    static func json(
        _ status: HTTPResponseStatus, _ value: some Encodable,
        keys: JSONEncoder.KeyEncodingStrategy = .useDefaultKeys
    ) -> SimResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = keys
        // The values are plain structs of strings and numbers; should encoding fail anyway, an
        // honest 500 beats a crash.
        guard let body = try? encoder.encode(value) else { return unknownError(acceptsHTML: false) }
        return SimResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(body))
    }

    /// The OAuth error shape `{"error":…,"error_description":…}` (§2).
    static func oauthError(_ status: HTTPResponseStatus, _ error: String, _ description: String? = nil) -> SimResponse {
        json(status, OAuthError(error: error, errorDescription: description))
    }

    static func empty(_ status: HTTPResponseStatus) -> SimResponse {
        SimResponse(status: status)
    }

    static func html(_ status: HTTPResponseStatus, title: String, message: String) -> SimResponse {
        let page = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(title)</title></head>
            <body><div id="kc-content"><p class="instruction">\(message)</p></div></body></html>

            """
        return SimResponse(status: status, headers: ["Content-Type": "text/html;charset=utf-8"], body: Array(page.utf8))
    }

    /// An uncaught server error: JSON unless the request asks for HTML (§2).
    static func unknownError(acceptsHTML: Bool) -> SimResponse {
        if acceptsHTML {
            return html(.internalServerError, title: "Error", message: "An internal server error has occurred")
        }
        return SimResponse(
            status: .internalServerError, headers: ["Content-Type": "application/json"],
            body: Array(#"{"error":"unknown_error"}"#.utf8))
    }

    /// A path no resource matches (RESTEasy's answer in Keycloak).
    static let notFound = oauthError(.notFound, "Unable to find matching target resource method")
    static let methodNotAllowed = oauthError(.methodNotAllowed, "HTTP 405 Method Not Allowed")
    static let unsupportedMediaType = oauthError(.unsupportedMediaType, "HTTP 415 Unsupported Media Type")

    /// A bearer-token failure: the status, `WWW-Authenticate` and no body (§9, userinfo).
    static func bearerChallenge(_ status: HTTPResponseStatus, realm: String, error: String, description: String)
        -> SimResponse
    {
        let challenge = #"Bearer realm="\#(realm)", error="\#(error)", error_description="\#(description)""#
        return SimResponse(status: status, headers: ["WWW-Authenticate": challenge])
    }

    func adding(_ name: String, _ value: String) -> SimResponse {
        var copy = self
        copy.headers.add(name: name, value: value)
        return copy
    }
}

/// `OAuth2ErrorRepresentation`; a `nil` description is left out.
struct OAuthError: Encodable {
    var error: String
    var errorDescription: String?

    enum CodingKeys: String, CodingKey {
        case error
        case errorDescription = "error_description"
    }
}
