/// What a caller asks of the scheduler.
public struct AcquireRequest: Sendable, Equatable {
    public var holder: HolderIdentity
    /// The caller's place in the queue, once it had to wait.
    public var ticket: Int64?
    /// The handed-out access token must stay valid at least this long (seconds).
    public var minValidity: Double
    /// A shared lease may sit beside other shared leases on one session.
    public var shared: Bool

    public init(holder: HolderIdentity, ticket: Int64? = nil, minValidity: Double = 30, shared: Bool = false) {
        self.holder = holder
        self.ticket = ticket
        self.minValidity = minValidity
        self.shared = shared
    }
}
