import OCPSessions

/// The stable `--json` shapes of the admin commands. Timestamps are RFC 3339 UTC; never a token.
enum ListingJSON {
    static func time(_ epoch: Double?) -> JSONOutput.Value {
        epoch.map { .string(JSONOutput.timestamp($0)) } ?? .null
    }

    static func account(_ key: AccountKey) -> [(String, JSONOutput.Value)] {
        [("username", .string(key.username)), ("realm", .string(key.realm)), ("host", .string(key.host))]
    }

    static func holder(_ holder: HolderIdentity) -> [(String, JSONOutput.Value)] {
        [("label", .string(holder.label)), ("pid", .integer(holder.pid)), ("host", .string(holder.host))]
    }

    static func lease(_ lease: LeaseListing) -> JSONOutput.Value {
        .object([("id", .string(lease.id))] + holder(lease.holder) + [
            ("acquired_at", time(lease.acquiredAt)), ("expires_at", time(lease.expiresAt)),
            ("shared", .bool(lease.shared)), ("holder_alive", .bool(lease.holderAlive)),
        ])
    }

    static func session(_ row: SessionListing) -> JSONOutput.Value {
        .object([("id", .string(row.id))] + account(row.account) + [
            ("client_id", row.clientID.map { .string($0) } ?? .null),
            ("state", .string(row.state.rawValue)),
            ("created_at", time(row.createdAt)), ("last_used_at", time(row.lastUsedAt)),
            ("access_expires_at", time(row.accessExpiresAt)), ("refresh_expires_at", time(row.refreshExpiresAt)),
            ("lease", row.leases.first.map(lease) ?? .null),
            ("leases", .array(row.leases.map(lease))),
        ])
    }

    static func waiter(_ waiter: WaiterListing) -> JSONOutput.Value {
        .object([("ticket", .integer(Int(waiter.ticket))), ("account", .object(account(waiter.account)))] + holder(waiter.holder) + [
            ("waiting_since", time(waiter.enqueuedAt)), ("alive", .bool(waiter.alive)),
        ])
    }

    static func outcome(_ outcome: AdminOutcome) -> JSONOutput.Value {
        .object([
            ("id", .string(outcome.sessionID)),
            ("account", outcome.account.map { .object(account($0)) } ?? .null),
            ("result", .string(outcome.result.rawValue)),
            ("reason", outcome.reason.map { .string($0.rawValue) } ?? .null),
            ("message", .string(outcome.message)),
        ])
    }

    /// `{"checked": true, "sessions": [...]}`, or `{"checked": false, "reason": "..."}`.
    static func foreign(_ listing: ForeignSessionListing) -> JSONOutput.Value {
        guard let sessions = listing.sessions else {
            return .object([("checked", .bool(false)), ("reason", .string(listing.problem ?? "not asked"))])
        }
        return .object([
            ("checked", .bool(true)),
            ("sessions", .array(sessions.map { session in
                .object([
                    ("id", .string(session.id)), ("clients", .array(session.clientIDs.map { .string($0) })),
                    ("started_at", time(session.started)), ("last_access_at", time(session.lastAccess)),
                ])
            })),
        ])
    }

    static func event(_ listing: EventListing) -> JSONOutput.Value {
        let event = listing.event
        return .object([
            ("id", .integer(Int(event.id))), ("at", time(event.at)), ("kind", .string(event.kind.rawValue)),
            ("account", listing.account.map { .object(account($0)) } ?? .null),
            ("session_id", event.sessionID.map { .string($0) } ?? .null),
            ("lease_id", event.leaseID.map { .string($0) } ?? .null),
            ("pid", event.pid.map { .integer($0) } ?? .null),
            ("detail", .string(event.detail)),
        ])
    }
}
