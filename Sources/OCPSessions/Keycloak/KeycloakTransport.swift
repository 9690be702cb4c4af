/// Sends one HTTP request and returns the answer, without interpreting it.
///
/// The production implementation is ``KeycloakHTTPTransport`` (AsyncHTTPClient); tests substitute
/// canned answers. An implementation makes exactly one attempt, never follows redirects, and bounds
/// the body it keeps to ``KeycloakResponseClassifier/maxBodyBytes``.
public protocol KeycloakTransport: Sendable {
    func send(_ request: KeycloakHTTPRequest) async throws(KeycloakTransportFailure) -> KeycloakHTTPResponse
    /// Releases connections and threads. Idempotent.
    func shutdown() async
}

extension KeycloakTransport {
    /// Nothing to release.
    public func shutdown() async {}
}

/// The operations the Keycloak client performs; the classifier's rules depend on it.
public enum KeycloakOperation: String, Sendable, Equatable, CaseIterable {
    case discovery
    case login
    case refresh
    case logout
    case accountSessions
    case deleteAccountSession

    /// Words for messages, e.g. "login".
    var noun: String {
        switch self {
        case .discovery: "discovery"
        case .login: "login"
        case .refresh: "token refresh"
        case .logout: "logout"
        case .accountSessions: "account session list"
        case .deleteAccountSession: "account session delete"
        }
    }
}

/// One HTTP header field.
public struct KeycloakHTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// An HTTP request to the IAM. Its `description` leaves out the body and the `Authorization`
/// value, which carry secrets.
public struct KeycloakHTTPRequest: Sendable, Equatable, CustomStringConvertible {
    /// The methods the client uses.
    public enum Method: String, Sendable, Equatable {
        case get = "GET"
        case post = "POST"
        case delete = "DELETE"
    }

    public var method: Method
    /// An absolute URL already checked by ``KeycloakURLPolicy``.
    public var url: String
    /// Request headers; the client always includes `Accept: application/json`.
    public var headers: [KeycloakHTTPHeader]
    public var body: [UInt8]?
    /// Overrides the transport's default deadline for this request.
    public var timeout: Duration?

    public init(
        method: Method, url: String, headers: [KeycloakHTTPHeader] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var description: String { "\(method.rawValue) \(url)" }
}

/// An HTTP answer as received: status, headers and (at most 1 MiB of) body.
public struct KeycloakHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [KeycloakHTTPHeader]
    public var body: [UInt8]
    /// True when the server sent more than the transport's body limit; `body` is then empty.
    public var bodyExceededLimit: Bool

    public init(status: Int, headers: [KeycloakHTTPHeader] = [], body: [UInt8] = [], bodyExceededLimit: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyExceededLimit = bodyExceededLimit
    }

    /// Convenience for tests and simulators: a UTF-8 body.
    public init(status: Int, headers: [KeycloakHTTPHeader] = [], body: String) {
        self.init(status: status, headers: headers, body: Array(body.utf8))
    }

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }
}

/// Why a request got no HTTP answer. The distinction that matters is whether the server may have
/// processed the request: a login that may have been processed may have created a session.
public enum KeycloakTransportFailure: Error, Sendable, Equatable {
    /// Nothing was sent: name resolution, connection refused, connect timeout, proxy unreachable.
    case notSent(String)
    /// The request was sent (at least in part), then the deadline passed or the connection was
    /// reset or closed before a complete answer.
    case sentWithoutAnswer(String)
    /// The TLS handshake failed: untrusted certificate, wrong host name, protocol mismatch.
    case tls(String)
    /// The request could not be made as configured (bad URL, unreadable CA file, bad proxy
    /// setting, proxy authentication required).
    case configuration(String)
}
