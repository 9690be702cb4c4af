import Foundation

/// A session as a test sees it.
public struct SimulatedSession: Sendable, Equatable, Codable {
    /// The user-session id: `session_state` and the `sid` claim.
    public var id: String
    public var username: String
    public var clientID: String
    public var started: Date
    /// The last login or refresh; terminate-oldest evicts the smallest.
    public var lastRefresh: Date
    /// False once rotation's reuse check detached the client session: the session still counts
    /// toward the limit but its tokens no longer refresh.
    public var clientAttached: Bool
    /// An offline session (`scope=offline_access`), which the limiter does not count.
    public var isOffline: Bool

    init(_ session: UserSession) {
        id = session.id
        username = session.username
        clientID = session.clientID
        started = Date(timeIntervalSince1970: session.started)
        lastRefresh = Date(timeIntervalSince1970: session.lastRefresh)
        clientAttached = session.clientAttached
        isOffline = session.isOffline
    }
}
