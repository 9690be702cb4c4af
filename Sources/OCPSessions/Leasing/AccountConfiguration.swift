/// Where the password comes from when, and only when, a new login is needed. It is read again for
/// each login and never stored.
public struct PasswordSource: Sendable {
    private let read: @Sendable () throws -> Secret

    /// `read` throws an `OCPSessionsError` (configuration) when no password can be had.
    public init(_ read: @escaping @Sendable () throws -> Secret) { self.read = read }

    public func password() throws -> Secret { try read() }

    /// A fixed password (tests, library callers that hold it anyway).
    public static func constant(_ password: String) -> PasswordSource {
        let secret = Secret(password)
        return PasswordSource { secret }
    }

    /// No source configured: a login fails with a message naming the sources.
    public static let none = PasswordSource {
        throw OCPSessionsError(.configuration, "a new login is needed but no password is available; set OCP_PASSWORD, --password-file/OCP_PASSWORD_FILE, --password-command/OCP_PASSWORD_COMMAND, or use --password-stdin")
    }
}

/// An account at the IAM and how to reach it.
public struct AccountConfiguration: Sendable {
    public var key: AccountKey
    public var clientID: String
    public var clientSecret: Secret?
    /// Sent only when set; otherwise the IAM's default scopes apply.
    public var scope: String?
    /// A PEM bundle of CAs to trust instead of the system store.
    public var caFile: String?
    /// The IAM's limit of concurrent sessions for this user.
    public var maxSessions: Int
    /// Slots left free for people and other tools.
    public var reserve: Int
    public var password: PasswordSource
    /// Deadline of one request to the IAM.
    public var requestTimeout: Double

    public init(
        host: String, realm: String = "master", username: String, clientID: String = "ocp",
        clientSecret: Secret? = nil, scope: String? = nil, caFile: String? = nil, maxSessions: Int = 5,
        reserve: Int = 0, password: PasswordSource = .none, requestTimeout: Double = 10
    ) {
        key = AccountKey(host: host, realm: realm, username: username)
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.caFile = caFile
        self.maxSessions = maxSessions
        self.reserve = reserve
        self.password = password
        self.requestTimeout = requestTimeout
    }
}

/// How a caller wants its lease.
public struct LeaseOptions: Sendable {
    /// The access token handed out stays valid at least this long (seconds).
    public var minValidity: Double = 30
    /// How long to wait for a session at the limit, and to retry a failing IAM.
    public var waitTimeout: Double = 60
    /// Shown as the holder.
    public var label: String
    /// Hold time; renewed by a heartbeat while the holder lives.
    public var maxHold: Double = 900
    /// Several shared holders may use one session at once.
    public var shared: Bool = false
    /// Refresh even when the stored token is fresh enough.
    public var forceRefresh: Bool = false

    public init(
        minValidity: Double = 30, waitTimeout: Double = 60, label: String = ProcessIdentity.defaultLabel,
        maxHold: Double = 900, shared: Bool = false, forceRefresh: Bool = false
    ) {
        self.minValidity = minValidity
        self.waitTimeout = waitTimeout
        self.label = label
        self.maxHold = maxHold
        self.shared = shared
        self.forceRefresh = forceRefresh
    }
}
