/// The registry as the scheduler needs it: a handful of transactions over accounts, sessions,
/// leases, logins in flight, waiters and events. SQLite implements it today; a PostgreSQL backend
/// implements the same contract without the scheduler changing.
///
/// Rule for every implementation and caller: no network request while a write transaction is open.
public protocol RegistryStore: AnyObject, Sendable {
    /// A human-readable location (a path or a URL without credentials).
    var location: String { get }
    /// Where the sealing key came from.
    var keySource: SealingKeySource { get }
    /// The schema version of the open registry.
    var schemaVersion: Int { get }
    /// The keys tokens are sealed and opened with; inside a transaction, the registry's current one seals.
    var sealer: SealingKeyring { get }

    /// Runs `body` in one write transaction that holds the registry's write lock (`BEGIN IMMEDIATE`
    /// on SQLite) from its first statement, so that read-decide-write is atomic across processes.
    func write<T>(_ body: (RegistryWriter) throws -> T) throws -> T
    /// Runs `body` on a consistent snapshot.
    func read<T>(_ body: (RegistryReader) throws -> T) throws -> T
    /// A number that changes whenever another process commits, cheap enough to poll every
    /// millisecond; nil when the backend cannot tell (waiters then poll on time alone).
    func changeCounter() -> Int64?
    /// Makes every transaction committed so far durable against a power loss. Called after the
    /// commit of a login reservation, before the login request: a lost reservation would leave a
    /// session at the IAM that the registry does not count.
    func makeCommitsDurable() throws
}

extension RegistryStore {
    public func changeCounter() -> Int64? { nil }
    public func makeCommitsDurable() throws {}
}

/// Reads inside a transaction.
public protocol RegistryReader {
    func account(_ key: AccountKey) throws -> AccountRecord?
    func accounts() throws -> [AccountRecord]
    func snapshot(accountID: Int64) throws -> AccountSnapshot?
    func sealedTokens(sessionID: String) throws -> SealedTokens?
    /// The account a session belongs to.
    func accountID(ofSession sessionID: String) throws -> Int64?
    func lease(id: String) throws -> LeaseRecord?
    func endpointsJSON(accountID: Int64) throws -> String?
    func events(since: Double, accountID: Int64?, afterID: Int64?, limit: Int) throws -> [EventRecord]
    /// Logins, refreshes and logouts recorded since `since`, by kind.
    func eventCounts(since: Double, accountID: Int64) throws -> [String: Int]
    func lastError(accountID: Int64) throws -> (message: String, at: Double)?
}

/// Writes inside a write transaction.
public protocol RegistryWriter: RegistryReader {
    /// Finds or creates the account, keeping the most conservative limit (lowest) and reserve
    /// (highest) of every caller.
    func upsertAccount(_ key: AccountKey, limit: Int, reserve: Int, now: Double) throws -> AccountRecord
    func updateAccountLimits(accountID: Int64, limit: Int, reserve: Int) throws
    func recordDenial(accountID: Int64, effectiveCapacity: Int, blockedUntil: Double) throws
    func recordLoginSuccess(accountID: Int64, idleTimeout: Double?, accessLifetime: Double) throws
    func recordError(accountID: Int64, message: String, at: Double) throws
    func setReconciled(accountID: Int64, at: Double) throws
    /// Records a census of the account API: `foreignSessions` (nil: it could not be taken; the
    /// capacity learnt before stays) and the capacity it leaves, `limit - foreign`.
    func recordCensus(accountID: Int64, foreignSessions: Int?, limit: Int, at: Double) throws
    func setAccountAPIRefused(accountID: Int64, until: Double) throws
    func setEndpointsJSON(accountID: Int64, json: String) throws

    func apply(_ change: Housekeeping, accountID: Int64, now: Double) throws

    func insertLease(_ lease: LeaseRecord, accountID: Int64) throws
    func deleteLease(id: String) throws
    func extendLease(id: String, until: Double) throws -> Bool

    func insertLogin(_ login: LoginRecord, accountID: Int64) throws
    func deleteLogin(id: String) throws
    func setLoginState(id: String, _ state: LoginRecord.State) throws

    func insertSession(_ session: SessionRecord, tokens: SealedTokens, accountID: Int64) throws
    /// Writes new tokens if the row is still at `expectedVersion`; returns false if a peer wrote first.
    func updateTokens(
        sessionID: String, tokens: SealedTokens, accessExpiresAt: Double, refreshExpiresAt: Double?,
        now: Double, expectedVersion: Int
    ) throws -> Bool
    func setRefreshClaim(sessionID: String, leaseID: String?, until: Double?) throws
    /// `claimer` is the process that sends the logout: if it dies, the logout is retried at once.
    func markLoggingOut(sessionID: String, claimUntil: Double, claimer: HolderIdentity) throws
    /// Ends a dead claimer's logout claim now, so the logout is retried at once.
    func releaseLogoutClaim(sessionID: String, at now: Double) throws
    func deleteSession(id: String) throws
    /// Records a use: `last_used_at`, and the newest handed-out token's expiry.
    func touchSession(id: String, at: Double, handedOutUntil: Double) throws

    func enqueueWaiter(accountID: Int64, holder: HolderIdentity, now: Double) throws -> Int64
    func heartbeatWaiter(ticket: Int64, now: Double) throws
    func deleteWaiter(ticket: Int64) throws

    func appendEvent(_ event: EventRecord) throws
}

/// A session's two tokens, sealed.
public struct SealedTokens: Sendable, Equatable {
    public var access: [UInt8]
    public var refresh: [UInt8]
    public init(access: [UInt8], refresh: [UInt8]) {
        self.access = access
        self.refresh = refresh
    }
}

/// One line of the event log. `detail` never holds a token or password.
public struct EventRecord: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case login, loginFailed = "login-failed", denied, refresh, refreshFailed = "refresh-failed"
        case logout, lease, release, eviction, error, reconcile, revoke, rekey
    }

    public var id: Int64
    public var at: Double
    public var accountID: Int64?
    public var kind: Kind
    public var sessionID: String?
    public var leaseID: String?
    public var pid: Int?
    public var detail: String

    public init(
        id: Int64 = 0, at: Double, accountID: Int64?, kind: Kind, sessionID: String? = nil,
        leaseID: String? = nil, pid: Int? = nil, detail: String = ""
    ) {
        self.id = id
        self.at = at
        self.accountID = accountID
        self.kind = kind
        self.sessionID = sessionID
        self.leaseID = leaseID
        self.pid = pid
        self.detail = detail
    }
}
