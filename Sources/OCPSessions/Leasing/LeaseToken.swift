/// An access token handed out under a lease: for one use (`SessionPool.oneShotToken`, what
/// `ocp-sessions token` prints), or for a lease another process holds (`SessionPool.heldLeaseToken`,
/// what `token --lease` prints).
public struct LeaseToken: Sendable, Equatable {
    public var accessToken: String
    /// Epoch seconds.
    public var expiresAt: Double
    public var sessionID: String
    /// The lease the token was handed out under (for one use: the id its `lease` and `release`
    /// events were logged under).
    public var leaseID: String

    public init(accessToken: String, expiresAt: Double, sessionID: String, leaseID: String) {
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.sessionID = sessionID
        self.leaseID = leaseID
    }
}
