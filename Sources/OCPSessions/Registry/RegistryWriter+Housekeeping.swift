/// Housekeeping is the same composition of writes on every backend.
extension RegistryWriter {
    public func apply(_ change: Housekeeping, accountID: Int64, now: Double) throws {
        switch change {
        case .deleteLease(let id, let sessionID, let reason):
            try deleteLease(id: id)
            try appendEvent(EventRecord(at: now, accountID: accountID, kind: .eviction, sessionID: sessionID,
                                        leaseID: id, detail: "lease reclaimed: \(reason.rawValue)"))
        case .deleteWaiter(let ticket):
            try deleteWaiter(ticket: ticket)
        case .markLoginUnknown(let id):
            try setLoginState(id: id, .unknown)
            try appendEvent(EventRecord(at: now, accountID: accountID, kind: .eviction,
                                        detail: "login \(id) lost its holder; counted until proven gone"))
        case .deleteLogin(let id):
            try deleteLogin(id: id)
            try appendEvent(EventRecord(at: now, accountID: accountID, kind: .eviction,
                                        detail: "login \(id) of unknown outcome passed the idle timeout"))
        case .clearRefreshClaim(let sessionID):
            try setRefreshClaim(sessionID: sessionID, leaseID: nil, until: nil)
        case .releaseLogoutClaim(let sessionID):
            try releaseLogoutClaim(sessionID: sessionID, at: now)
            try appendEvent(EventRecord(at: now, accountID: accountID, kind: .eviction, sessionID: sessionID,
                                        detail: "logout claim released: its process died; the logout is retried"))
        }
    }
}
