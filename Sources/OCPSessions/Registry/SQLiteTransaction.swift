import Foundation

/// The registry's reads and writes on one SQLite connection, inside a transaction opened by
/// `SQLiteRegistry`. Every statement is prepared once per connection and cached.
struct SQLiteTransaction: RegistryWriter {
    let db: Database

    // MARK: Accounts

    static let accountColumns = """
        id, host, realm, username, session_limit, reserve, effective_capacity, consecutive_denials,
        login_blocked_until, idle_timeout, access_lifetime, last_reconcile_at, foreign_sessions,
        foreign_counted_at, account_api_refused_until
        """

    static func accountRecord(_ row: Row) -> AccountRecord {
        AccountRecord(
            id: Int64(row.int(0) ?? 0),
            key: AccountKey(host: row.string(1) ?? "", realm: row.string(2) ?? "", username: row.string(3) ?? ""),
            sessionLimit: row.int(4) ?? 0, reserve: row.int(5) ?? 0, effectiveCapacity: row.int(6),
            consecutiveDenials: row.int(7) ?? 0, loginBlockedUntil: row.double(8), idleTimeout: row.double(9),
            accessLifetime: row.double(10), lastReconcileAt: row.double(11), foreignSessions: row.int(12),
            foreignCountedAt: row.double(13), accountAPIRefusedUntil: row.double(14))
    }

    func account(_ key: AccountKey) throws -> AccountRecord? {
        try db.queryOne(
            "SELECT \(Self.accountColumns) FROM accounts WHERE host = ? AND realm = ? AND username = ?",
            [.text(key.host), .text(key.realm), .text(key.username)]
        ).map(Self.accountRecord)
    }

    func account(id: Int64) throws -> AccountRecord? {
        try db.queryOne("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?", [.integer(id)])
            .map(Self.accountRecord)
    }

    func accounts() throws -> [AccountRecord] {
        try db.query("SELECT \(Self.accountColumns) FROM accounts ORDER BY host, realm, username")
            .map(Self.accountRecord)
    }

    func upsertAccount(_ key: AccountKey, limit: Int, reserve: Int, now: Double) throws -> AccountRecord {
        if var existing = try account(key) {
            let conservativeLimit = min(existing.sessionLimit, limit)
            let conservativeReserve = max(existing.reserve, reserve)
            if conservativeLimit != existing.sessionLimit || conservativeReserve != existing.reserve {
                try updateAccountLimits(accountID: existing.id, limit: conservativeLimit, reserve: conservativeReserve)
                existing.sessionLimit = conservativeLimit
                existing.reserve = conservativeReserve
            }
            return existing
        }
        try db.run(
            "INSERT INTO accounts (host, realm, username, session_limit, reserve, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [.text(key.host), .text(key.realm), .text(key.username), .int(limit), .int(reserve), .real(now)])
        return AccountRecord(id: db.lastInsertRowID, key: key, sessionLimit: limit, reserve: reserve)
    }

    func updateAccountLimits(accountID: Int64, limit: Int, reserve: Int) throws {
        try db.run("UPDATE accounts SET session_limit = ?, reserve = ? WHERE id = ?",
                   [.int(limit), .int(reserve), .integer(accountID)])
    }

    func recordDenial(accountID: Int64, effectiveCapacity: Int, blockedUntil: Double) throws {
        try db.run("""
            UPDATE accounts SET effective_capacity = ?, login_blocked_until = ?,
                consecutive_denials = consecutive_denials + 1 WHERE id = ?
            """, [.int(effectiveCapacity), .real(blockedUntil), .integer(accountID)])
    }

    func recordLoginSuccess(accountID: Int64, idleTimeout: Double?, accessLifetime: Double) throws {
        // A login beyond the capacity the IAM last allowed proves the foreign sessions are gone.
        try db.run("""
            UPDATE accounts SET consecutive_denials = 0, login_blocked_until = NULL,
                effective_capacity = CASE
                    WHEN effective_capacity IS NOT NULL AND effective_capacity <
                        (SELECT COUNT(*) FROM sessions WHERE account_id = accounts.id) THEN NULL
                    ELSE effective_capacity END,
                idle_timeout = COALESCE(?, idle_timeout), access_lifetime = ?
            WHERE id = ?
            """, [.optional(idleTimeout), .real(accessLifetime), .integer(accountID)])
    }

    func recordError(accountID: Int64, message: String, at: Double) throws {
        try db.run("UPDATE accounts SET last_error = ?, last_error_at = ? WHERE id = ?",
                   [.text(message), .real(at), .integer(accountID)])
    }

    func lastError(accountID: Int64) throws -> (message: String, at: Double)? {
        guard let row = try db.queryOne("SELECT last_error, last_error_at FROM accounts WHERE id = ?", [.integer(accountID)]),
              let message = row.string(0), let at = row.double(1) else { return nil }
        return (message, at)
    }

    func setReconciled(accountID: Int64, at: Double) throws {
        try db.run("UPDATE accounts SET last_reconcile_at = ? WHERE id = ?", [.real(at), .integer(accountID)])
    }

    func recordCensus(accountID: Int64, foreignSessions: Int?, limit: Int, at: Double) throws {
        // Sessions the IAM holds for others leave `limit - foreign` for us: the capacity a denial
        // would have taught, learnt without one. nil when nothing is known or nothing is foreign.
        let capacity: Int? = foreignSessions.flatMap { $0 > 0 ? max(0, limit - $0) : nil }
        try db.run("""
            UPDATE accounts SET foreign_sessions = ?, foreign_counted_at = ?,
                effective_capacity = CASE WHEN ? THEN ? ELSE effective_capacity END
            WHERE id = ?
            """, [.optional(foreignSessions), .real(at), .int(foreignSessions == nil ? 0 : 1), .optional(capacity),
                  .integer(accountID)])
    }

    func setAccountAPIRefused(accountID: Int64, until: Double) throws {
        try db.run("UPDATE accounts SET account_api_refused_until = ? WHERE id = ?", [.real(until), .integer(accountID)])
    }

    func endpointsJSON(accountID: Int64) throws -> String? {
        try db.queryOne("SELECT endpoints FROM accounts WHERE id = ?", [.integer(accountID)])?.string(0)
    }

    func setEndpointsJSON(accountID: Int64, json: String) throws {
        try db.run("UPDATE accounts SET endpoints = ? WHERE id = ?", [.text(json), .integer(accountID)])
    }

    // MARK: Snapshot

    func snapshot(accountID: Int64) throws -> AccountSnapshot? {
        guard let account = try account(id: accountID) else { return nil }
        let id: [SQLValue] = [.integer(accountID)]
        let sessions = try db.query("""
            SELECT id, state, client_id, access_expires_at, refresh_expires_at, created_at, last_used_at,
                last_refreshed_at, handed_out_until, version, refresh_claim, refresh_claim_until, logout_claim_until,
                logout_claim_pid, logout_claim_start, logout_claim_boot, logout_claim_host, logout_claim_label
            FROM sessions WHERE account_id = ?
            """, id).map { row in
            SessionRecord(
                id: row.string(0) ?? "", state: SessionRecord.State(rawValue: row.string(1) ?? "") ?? .loggingOut,
                clientID: row.string(2) ?? "", accessExpiresAt: row.double(3) ?? 0, refreshExpiresAt: row.double(4),
                createdAt: row.double(5) ?? 0, lastUsedAt: row.double(6) ?? 0, lastRefreshedAt: row.double(7) ?? 0,
                handedOutUntil: row.double(8) ?? 0, version: row.int(9) ?? 0, refreshClaim: row.string(10),
                refreshClaimUntil: row.double(11), logoutClaimUntil: row.double(12),
                logoutClaimer: row.int(13) == nil ? nil : Self.holder(row, from: 13))
        }
        let leases = try db.query("""
            SELECT id, session_id, shared, holder_pid, holder_start, holder_boot, holder_host, label, acquired_at, expires_at
            FROM leases WHERE account_id = ?
            """, id).map(Self.leaseRecord)
        let logins = try db.query("""
            SELECT id, state, holder_pid, holder_start, holder_boot, holder_host, label, started_at, deadline
            FROM logins WHERE account_id = ?
            """, id).map { row in
            LoginRecord(
                id: row.string(0) ?? "", state: LoginRecord.State(rawValue: row.string(1) ?? "") ?? .unknown,
                holder: Self.holder(row, from: 2), startedAt: row.double(7) ?? 0, deadline: row.double(8) ?? 0)
        }
        let waiters = try db.query("""
            SELECT ticket, holder_pid, holder_start, holder_boot, holder_host, label, enqueued_at, heartbeat_at
            FROM waiters WHERE account_id = ? ORDER BY ticket
            """, id).map { row in
            WaiterRecord(
                ticket: Int64(row.int(0) ?? 0), holder: Self.holder(row, from: 1),
                enqueuedAt: row.double(6) ?? 0, heartbeatAt: row.double(7) ?? 0)
        }
        return AccountSnapshot(account: account, sessions: sessions, leases: leases, logins: logins, waiters: waiters)
    }

    /// Reads (pid, start, boot, host, label) from five columns starting at `index`.
    static func holder(_ row: Row, from index: Int) -> HolderIdentity {
        HolderIdentity(
            pid: row.int(index) ?? 0, startTime: row.int(index + 1) ?? 0, bootID: row.string(index + 2) ?? "",
            host: row.string(index + 3) ?? "", label: row.string(index + 4) ?? "")
    }

    static func holderValues(_ holder: HolderIdentity) -> [SQLValue] {
        [.int(holder.pid), .int(holder.startTime), .text(holder.bootID), .text(holder.host), .text(holder.label)]
    }

    static func leaseRecord(_ row: Row) -> LeaseRecord {
        LeaseRecord(
            id: row.string(0) ?? "", sessionID: row.string(1) ?? "", shared: row.bool(2),
            holder: holder(row, from: 3), acquiredAt: row.double(8) ?? 0, expiresAt: row.double(9) ?? 0)
    }

    func sealedTokens(sessionID: String) throws -> SealedTokens? {
        guard let row = try db.queryOne("SELECT access_token, refresh_token FROM sessions WHERE id = ?", [.text(sessionID)]),
              let access = row.blob(0), let refresh = row.blob(1) else { return nil }
        return SealedTokens(access: access, refresh: refresh)
    }

    func accountID(ofSession sessionID: String) throws -> Int64? {
        try db.queryOne("SELECT account_id FROM sessions WHERE id = ?", [.text(sessionID)])?.int(0).map(Int64.init)
    }

    /// Ends a dead claimer's logout claim now, so the logout is retried at once.
    func releaseLogoutClaim(sessionID: String, at now: Double) throws {
        try db.run("UPDATE sessions SET logout_claim_until = ? WHERE id = ?", [.real(now), .text(sessionID)])
    }

    // MARK: Leases

    func insertLease(_ lease: LeaseRecord, accountID: Int64) throws {
        try db.run("""
            INSERT INTO leases (id, session_id, account_id, shared, holder_pid, holder_start, holder_boot,
                holder_host, label, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(lease.id), .text(lease.sessionID), .integer(accountID), .bool(lease.shared)]
            + Self.holderValues(lease.holder) + [.real(lease.acquiredAt), .real(lease.expiresAt)])
    }

    func deleteLease(id: String) throws {
        try db.run("DELETE FROM leases WHERE id = ?", [.text(id)])
    }

    func extendLease(id: String, until: Double) throws -> Bool {
        try db.run("UPDATE leases SET expires_at = max(expires_at, ?) WHERE id = ?", [.real(until), .text(id)]) > 0
    }

    func lease(id: String) throws -> LeaseRecord? {
        try db.queryOne("""
            SELECT id, session_id, shared, holder_pid, holder_start, holder_boot, holder_host, label, acquired_at, expires_at
            FROM leases WHERE id = ?
            """, [.text(id)]).map(Self.leaseRecord)
    }

    // MARK: Logins

    func insertLogin(_ login: LoginRecord, accountID: Int64) throws {
        try db.run("""
            INSERT INTO logins (id, account_id, state, holder_pid, holder_start, holder_boot, holder_host, label,
                started_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(login.id), .integer(accountID), .text(login.state.rawValue)]
            + Self.holderValues(login.holder) + [.real(login.startedAt), .real(login.deadline)])
    }

    func deleteLogin(id: String) throws {
        try db.run("DELETE FROM logins WHERE id = ?", [.text(id)])
    }

    func setLoginState(id: String, _ state: LoginRecord.State) throws {
        try db.run("UPDATE logins SET state = ? WHERE id = ?", [.text(state.rawValue), .text(id)])
    }

    // MARK: Sessions

    func insertSession(_ session: SessionRecord, tokens: SealedTokens, accountID: Int64) throws {
        try db.run("""
            INSERT INTO sessions (id, account_id, client_id, state, access_token, refresh_token, access_expires_at,
                refresh_expires_at, created_at, last_used_at, last_refreshed_at, handed_out_until, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(session.id), .integer(accountID), .text(session.clientID), .text(session.state.rawValue),
                  .blob(tokens.access), .blob(tokens.refresh), .real(session.accessExpiresAt),
                  .optional(session.refreshExpiresAt), .real(session.createdAt), .real(session.lastUsedAt),
                  .real(session.lastRefreshedAt), .real(session.handedOutUntil), .int(session.version)])
    }

    func updateTokens(
        sessionID: String, tokens: SealedTokens, accessExpiresAt: Double, refreshExpiresAt: Double?,
        now: Double, expectedVersion: Int
    ) throws -> Bool {
        try db.run("""
            UPDATE sessions SET access_token = ?, refresh_token = ?, access_expires_at = ?, refresh_expires_at = ?,
                last_refreshed_at = ?, version = version + 1, refresh_claim = NULL, refresh_claim_until = NULL
            WHERE id = ? AND version = ?
            """, [.blob(tokens.access), .blob(tokens.refresh), .real(accessExpiresAt), .optional(refreshExpiresAt),
                  .real(now), .text(sessionID), .int(expectedVersion)]) > 0
    }

    func setRefreshClaim(sessionID: String, leaseID: String?, until: Double?) throws {
        try db.run("UPDATE sessions SET refresh_claim = ?, refresh_claim_until = ? WHERE id = ?",
                   [.optional(leaseID), .optional(until), .text(sessionID)])
    }

    func markLoggingOut(sessionID: String, claimUntil: Double, claimer: HolderIdentity) throws {
        try db.run("""
            UPDATE sessions SET state = 'logging_out', logout_claim_until = ?, logout_claim_pid = ?,
                logout_claim_start = ?, logout_claim_boot = ?, logout_claim_host = ?, logout_claim_label = ?
            WHERE id = ?
            """, [.real(claimUntil)] + Self.holderValues(claimer) + [.text(sessionID)])
    }

    func deleteSession(id: String) throws {
        try db.run("DELETE FROM leases WHERE session_id = ?", [.text(id)])
        try db.run("DELETE FROM sessions WHERE id = ?", [.text(id)])
    }

    func touchSession(id: String, at: Double, handedOutUntil: Double) throws {
        try db.run("UPDATE sessions SET last_used_at = ?, handed_out_until = max(handed_out_until, ?) WHERE id = ?",
                   [.real(at), .real(handedOutUntil), .text(id)])
    }

    // MARK: Waiters

    func enqueueWaiter(accountID: Int64, holder: HolderIdentity, now: Double) throws -> Int64 {
        try db.run("""
            INSERT INTO waiters (account_id, holder_pid, holder_start, holder_boot, holder_host, label, enqueued_at,
                heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(accountID)] + Self.holderValues(holder) + [.real(now), .real(now)])
        return db.lastInsertRowID
    }

    func heartbeatWaiter(ticket: Int64, now: Double) throws {
        try db.run("UPDATE waiters SET heartbeat_at = ? WHERE ticket = ?", [.real(now), .integer(ticket)])
    }

    func deleteWaiter(ticket: Int64) throws {
        try db.run("DELETE FROM waiters WHERE ticket = ?", [.integer(ticket)])
    }

    // MARK: Events

    /// Retention: 30 days and 20,000 rows, trimmed every 256th insert so the log stays bounded
    /// without a delete in every transaction.
    static let eventRetentionSeconds: Double = 30 * 86_400
    static let eventRetentionRows: Int64 = 20_000

    func appendEvent(_ event: EventRecord) throws {
        try db.run("""
            INSERT INTO events (at, account_id, kind, session_id, lease_id, pid, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, [.real(event.at), event.accountID.map(SQLValue.integer) ?? .null, .text(event.kind.rawValue),
                  .optional(event.sessionID), .optional(event.leaseID), .optional(event.pid), .text(event.detail)])
        let id = db.lastInsertRowID
        if id % 256 == 0 {
            try db.run("DELETE FROM events WHERE id <= ? OR at < ?",
                       [.integer(id - Self.eventRetentionRows), .real(event.at - Self.eventRetentionSeconds)])
        }
    }

    func events(since: Double, accountID: Int64?, afterID: Int64?, limit: Int) throws -> [EventRecord] {
        try db.query("""
            SELECT id, at, account_id, kind, session_id, lease_id, pid, detail FROM events
            WHERE at >= ? AND (? IS NULL OR account_id = ?) AND id > ? ORDER BY id DESC LIMIT ?
            """, [.real(since), accountID.map(SQLValue.integer) ?? .null, accountID.map(SQLValue.integer) ?? .null,
                  .integer(afterID ?? 0), .int(limit)]
        ).reversed().map { row in
            EventRecord(
                id: Int64(row.int(0) ?? 0), at: row.double(1) ?? 0, accountID: row.int(2).map(Int64.init),
                kind: EventRecord.Kind(rawValue: row.string(3) ?? "") ?? .error, sessionID: row.string(4),
                leaseID: row.string(5), pid: row.int(6), detail: row.string(7) ?? "")
        }
    }

    func eventCounts(since: Double, accountID: Int64) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.query(
            "SELECT kind, COUNT(*) FROM events WHERE at >= ? AND account_id = ? GROUP BY kind",
            [.real(since), .integer(accountID)])
        {
            counts[row.string(0) ?? "", default: 0] = row.int(1) ?? 0
        }
        return counts
    }
}
