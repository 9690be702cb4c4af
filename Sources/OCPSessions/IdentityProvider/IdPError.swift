/// A failure talking to the identity provider, classified by what the caller must do about it.
///
/// `message` is one line meant for people; it never contains a token or a password.
public struct IdPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Wrong username or password, or the account is locked by brute-force detection
        /// (Keycloak answers both identically). Never retried: each retry is a failed login.
        case credentialsRejected
        /// `Account disabled` or `Account is not fully set up`. Never retried.
        case accountNotUsable
        /// The session limiter refused a new session (403 on >= 23, 401
        /// `generic_authentication_error` on 18-22, 500 `unknown_error` on a password grant on 17).
        case sessionLimitDenied
        /// The session behind a refresh token is gone or unusable (`Session not active`,
        /// `Token is not active`, `Stale token`, reuse exceeded, detached client, ...).
        case sessionDead
        /// The IAM could not be reached or answered 5xx / timed out. `outcomeUnknown` is true when
        /// the request may have been processed (sent, then a timeout or reset): a login may then
        /// have created a session.
        case unavailable(outcomeUnknown: Bool)
        /// The IAM answered with a body we cannot read (not JSON, wrong shape, too large,
        /// absurd lifetimes).
        case malformedResponse
        /// Unknown realm, `invalid_client`, `unauthorized_client`, HTTPS required, a bad URL, a
        /// TLS or CA problem: fix the configuration.
        case configuration
        /// Any other 4xx the IAM gave (e.g. `invalid_request`, `invalid_scope`).
        case rejected
    }

    public var kind: Kind
    public var message: String
    /// The HTTP status, when there was an answer.
    public var status: Int?
    /// The OAuth `error` string, when there was one.
    public var oauthError: String?
    /// A login answered 200 with tokens we refuse (or a body too large to read): the IAM has most
    /// likely created the session, so its slot must stay counted until proven gone.
    public var mayHaveCreatedSession: Bool

    public init(
        _ kind: Kind, _ message: String, status: Int? = nil, oauthError: String? = nil, mayHaveCreatedSession: Bool = false
    ) {
        self.kind = kind
        self.message = message
        self.status = status
        self.oauthError = oauthError
        self.mayHaveCreatedSession = mayHaveCreatedSession
    }

    public var description: String { message }

    /// True when retrying later could succeed without a change of configuration or credentials.
    public var isTransient: Bool {
        if case .unavailable = kind { return true }
        return kind == .malformedResponse
    }
}
