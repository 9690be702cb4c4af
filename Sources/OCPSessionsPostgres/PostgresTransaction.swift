import Foundation
import NIOCore
import OCPSessions
import PostgresNIO

/// A value bound to a statement parameter.
enum PostgresValue {
    case text(String), int(Int), real(Double), bool(Bool), bytes([UInt8])
    case optionalText(String?), optionalInt(Int?), optionalReal(Double?)
    case ints([Int])

    func append(to binds: inout PostgresBindings) {
        switch self {
        case .text(let value): binds.append(value)
        case .int(let value): binds.append(value)
        case .real(let value): binds.append(value)
        case .bool(let value): binds.append(value)
        case .bytes(let value): binds.append(ByteBuffer(bytes: value))
        case .optionalText(let value): binds.append(value)
        case .optionalInt(let value): binds.append(value)
        case .optionalReal(let value): binds.append(value)
        case .ints(let value): binds.append(value)
        }
    }
}

/// A row's cells by position; NULL reads as nil.
struct PostgresCells {
    let row: PostgresRandomAccessRow
    init(_ row: PostgresRow) { self.row = PostgresRandomAccessRow(row) }

    func string(_ index: Int) -> String? { row[index].bytes == nil ? nil : try? row[index].decode(String.self) }
    func int(_ index: Int) -> Int? { row[index].bytes == nil ? nil : try? row[index].decode(Int.self) }
    func int64(_ index: Int) -> Int64? { row[index].bytes == nil ? nil : try? row[index].decode(Int64.self) }
    func double(_ index: Int) -> Double? { row[index].bytes == nil ? nil : try? row[index].decode(Double.self) }
    func bool(_ index: Int) -> Bool { (try? row[index].decode(Bool.self)) ?? false }
    func bytes(_ index: Int) -> [UInt8]? {
        guard row[index].bytes != nil, let buffer = try? row[index].decode(ByteBuffer.self) else { return nil }
        return Array(buffer.readableBytesView)
    }
}

/// The registry's reads and writes on one PostgreSQL connection, inside a transaction opened by
/// `PostgresRegistry`. In a write transaction, every account whose rows a statement touches is
/// locked first (`SELECT ... FOR NO KEY UPDATE` on its row, once per transaction): the rule that
/// makes read-decide-write atomic across hosts (docs/postgres-design.md, "Transactions and locks").
final class PostgresTransaction: RegistryWriter {
    let bridge: PostgresConnectionBridge
    let writing: Bool
    private var locked: Set<Int64> = []
    /// Whether a statement changed something: only then does the commit count as a change.
    private(set) var wrote = false

    /// Told which holders each snapshot found dead; nil for raw use in tests.
    let liveness: PostgresHolderLiveness?

    /// The registry's sealing-key check, given the key id the registry records (nil: none yet):
    /// makes it the sealing key, or throws for a host that does not hold it (rule 6).
    typealias KeyCheck = (_ recorded: String?, _ transaction: PostgresTransaction) throws -> Void
    private let keyCheck: KeyCheck?
    /// Whether this transaction has checked the recorded key. Until then, the statements that lock
    /// an account also return the recorded key id, so the check costs no round trip of its own.
    private(set) var keyChecked = false
    /// A failed check noticed where it could not throw (`PostgresRegistry.sealer`).
    private var keyFailure: (any Error)?

    init(bridge: PostgresConnectionBridge, writing: Bool, liveness: PostgresHolderLiveness? = nil,
         keyCheck: KeyCheck? = nil) {
        self.bridge = bridge
        self.writing = writing
        self.liveness = liveness
        self.keyCheck = keyCheck
        keyChecked = keyCheck == nil
    }

    @discardableResult
    func run(_ sql: String, _ values: [PostgresValue] = []) throws -> PostgresQueryResult {
        if let keyFailure { throw keyFailure }
        var binds = PostgresBindings(capacity: values.count)
        for value in values { value.append(to: &binds) }
        return try bridge.query(PostgresQuery(unsafeSQL: sql, binds: binds))
    }

    // MARK: The sealing key (rule 6)

    /// The recorded key id as an extra column, while the key is unchecked.
    var keyColumn: String { keyChecked ? "" : ", (SELECT value FROM registry_meta WHERE key = 'sealing_key_id')" }

    /// Checks the key id a statement returned in `keyColumn` at `index`, once per transaction.
    func checkKey(_ cells: PostgresCells, at index: Int) throws {
        guard !keyChecked else { return }
        keyChecked = true
        try keyCheck?(cells.string(index), self)
    }

    /// Checks the recorded key with a statement of its own if no statement brought it yet: before
    /// a write transaction commits, before sealed tokens are read, before the body seals.
    func ensureKeyChecked() throws {
        if let keyFailure { throw keyFailure }
        guard !keyChecked else { return }
        let recorded = try run("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'").rows.first
            .flatMap { PostgresCells($0).string(0) }
        keyChecked = true
        try keyCheck?(recorded, self)
    }

    /// `ensureKeyChecked` where nothing can throw: a failure fails the next statement and the commit.
    func ensureKeyCheckedLater() {
        do { try ensureKeyChecked() } catch { keyFailure = error }
    }

    /// Runs a statement that changes rows and returns how many it changed.
    @discardableResult
    func change(_ sql: String, _ values: [PostgresValue] = []) throws -> Int {
        let count = try run(sql, values).metadata.rows ?? 0
        if count > 0 { wrote = true }
        return count
    }

    // MARK: Locks

    func lock(account id: Int64) throws {
        guard writing, !locked.contains(id) else { return }
        let row = try run("SELECT id\(keyColumn) FROM accounts WHERE id = $1 FOR NO KEY UPDATE", [.int(Int(id))]).rows.first
        locked.insert(id)
        if let row { try checkKey(PostgresCells(row), at: 1) }
    }

    /// Locks the account of the row `table.column = value` (a lease, login, session or waiter).
    func lockAccount(of table: String, where column: String, is value: PostgresValue) throws {
        guard writing else { return }
        let rows = try run("""
            SELECT id\(keyColumn) FROM accounts WHERE id = (SELECT account_id FROM \(table) WHERE \(column) = $1)
            FOR NO KEY UPDATE
            """, [value]).rows
        guard let row = rows.first.map(PostgresCells.init), let id = row.int64(0) else { return }
        locked.insert(id)
        try checkKey(row, at: 1)
    }

    /// Runs `sql`, a statement on the row of `table` where `column = value` (rule 3). When the
    /// transaction already holds accounts, it first runs only on rows of those (`account_id =
    /// ANY(...)`, appended as the last parameter): the lock it needs is held, so no lock round trip.
    /// If that changed nothing (the row is another account's, or gone), it locks the row's account
    /// and runs `sql` as given. Returns the rows changed.
    @discardableResult
    func changeRow(of table: String, where column: String, is value: PostgresValue,
                   _ sql: String, _ values: [PostgresValue]) throws -> Int {
        if writing, !locked.isEmpty {
            let held = try change(sql + " AND account_id = ANY($\(values.count + 1)::bigint[])",
                                  values + [.ints(locked.map { Int($0) })])
            if held > 0 { return held }
        }
        try lockAccount(of: table, where: column, is: value)
        return try change(sql, values)
    }

    // MARK: Accounts

    static let accountColumns = """
        id, host, realm, username, session_limit, reserve, effective_capacity, consecutive_denials,
        login_blocked_until, idle_timeout, access_lifetime, last_reconcile_at, foreign_sessions,
        foreign_counted_at, account_api_refused_until
        """

    static func accountRecord(_ cells: PostgresCells) -> AccountRecord {
        AccountRecord(
            id: cells.int64(0) ?? 0,
            key: AccountKey(host: cells.string(1) ?? "", realm: cells.string(2) ?? "", username: cells.string(3) ?? ""),
            sessionLimit: cells.int(4) ?? 0, reserve: cells.int(5) ?? 0, effectiveCapacity: cells.int(6),
            consecutiveDenials: cells.int(7) ?? 0, loginBlockedUntil: cells.double(8), idleTimeout: cells.double(9),
            accessLifetime: cells.double(10), lastReconcileAt: cells.double(11), foreignSessions: cells.int(12),
            foreignCountedAt: cells.double(13), accountAPIRefusedUntil: cells.double(14))
    }

    private var forUpdate: String { writing ? " FOR NO KEY UPDATE" : "" }

    /// Index of `keyColumn` after the account columns.
    static let accountKeyIndex = 15

    /// The account rows `sql` returns (account columns, then `keyColumn`), locked in a write.
    private func accountRows(_ sql: String, _ values: [PostgresValue] = []) throws -> [AccountRecord] {
        let rows = try run(sql, values).rows.map(PostgresCells.init)
        let records = rows.map(Self.accountRecord)
        if writing { locked.formUnion(records.map(\.id)) }
        if let first = rows.first { try checkKey(first, at: Self.accountKeyIndex) }
        return records
    }

    func account(_ key: AccountKey) throws -> AccountRecord? {
        try accountRows(
            "SELECT \(Self.accountColumns)\(keyColumn) FROM accounts WHERE host = $1 AND realm = $2 AND username = $3\(forUpdate)",
            [.text(key.host), .text(key.realm), .text(key.username)]
        ).first
    }

    func account(id: Int64) throws -> AccountRecord? {
        try accountRows("SELECT \(Self.accountColumns)\(keyColumn) FROM accounts WHERE id = $1\(forUpdate)", [.int(Int(id))]).first
    }

    func accounts() throws -> [AccountRecord] {
        // In a write, every account is locked in id order in one statement (rule 4).
        let records = try accountRows(
            "SELECT \(Self.accountColumns)\(keyColumn) FROM accounts ORDER BY \(writing ? "id FOR NO KEY UPDATE" : "host, realm, username")")
        return records.sorted { ($0.key.host, $0.key.realm, $0.key.username) < ($1.key.host, $1.key.realm, $1.key.username) }
    }

    func upsertAccount(_ key: AccountKey, limit: Int, reserve: Int, now: Double) throws -> AccountRecord {
        // The upsert locks the row it returns; the most conservative limit and reserve win.
        let cells = try run("""
            INSERT INTO accounts (host, realm, username, session_limit, reserve, created_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (host, realm, username) DO UPDATE SET
                session_limit = LEAST(accounts.session_limit, EXCLUDED.session_limit),
                reserve = GREATEST(accounts.reserve, EXCLUDED.reserve)
            RETURNING \(Self.accountColumns)\(keyColumn)
            """, [.text(key.host), .text(key.realm), .text(key.username), .int(limit), .int(reserve), .real(now)]
        ).rows.first.map(PostgresCells.init)
        guard let cells else { throw RegistryError.database("registry \(bridge.settings.location): the account upsert returned no row") }
        let record = Self.accountRecord(cells)
        locked.insert(record.id)
        wrote = true
        try checkKey(cells, at: Self.accountKeyIndex)
        return record
    }

    func updateAccountLimits(accountID: Int64, limit: Int, reserve: Int) throws {
        try lock(account: accountID)
        try change("UPDATE accounts SET session_limit = $1, reserve = $2 WHERE id = $3",
                   [.int(limit), .int(reserve), .int(Int(accountID))])
    }

    func recordDenial(accountID: Int64, effectiveCapacity: Int, blockedUntil: Double) throws {
        try lock(account: accountID)
        try change("""
            UPDATE accounts SET effective_capacity = $1, login_blocked_until = $2,
                consecutive_denials = consecutive_denials + 1 WHERE id = $3
            """, [.int(effectiveCapacity), .real(blockedUntil), .int(Int(accountID))])
    }

    func recordLoginSuccess(accountID: Int64, idleTimeout: Double?, accessLifetime: Double) throws {
        try lock(account: accountID)
        // A login beyond the capacity the IAM last allowed proves the foreign sessions are gone.
        try change("""
            UPDATE accounts SET consecutive_denials = 0, login_blocked_until = NULL,
                effective_capacity = CASE
                    WHEN effective_capacity IS NOT NULL AND effective_capacity <
                        (SELECT COUNT(*) FROM sessions WHERE account_id = accounts.id) THEN NULL
                    ELSE effective_capacity END,
                idle_timeout = COALESCE($1, idle_timeout), access_lifetime = $2
            WHERE id = $3
            """, [.optionalReal(idleTimeout), .real(accessLifetime), .int(Int(accountID))])
    }

    func recordError(accountID: Int64, message: String, at: Double) throws {
        try lock(account: accountID)
        try change("UPDATE accounts SET last_error = $1, last_error_at = $2 WHERE id = $3",
                   [.text(message), .real(at), .int(Int(accountID))])
    }

    func lastError(accountID: Int64) throws -> (message: String, at: Double)? {
        guard let row = try run("SELECT last_error, last_error_at FROM accounts WHERE id = $1", [.int(Int(accountID))]).rows.first
        else { return nil }
        let cells = PostgresCells(row)
        guard let message = cells.string(0), let at = cells.double(1) else { return nil }
        return (message, at)
    }

    func setReconciled(accountID: Int64, at: Double) throws {
        try lock(account: accountID)
        try change("UPDATE accounts SET last_reconcile_at = $1 WHERE id = $2", [.real(at), .int(Int(accountID))])
    }

    func recordCensus(accountID: Int64, foreignSessions: Int?, limit: Int, at: Double) throws {
        try lock(account: accountID)
        let capacity: Int? = foreignSessions.flatMap { $0 > 0 ? max(0, limit - $0) : nil }
        try change("""
            UPDATE accounts SET foreign_sessions = $1, foreign_counted_at = $2,
                effective_capacity = CASE WHEN $3 THEN $4 ELSE effective_capacity END
            WHERE id = $5
            """, [.optionalInt(foreignSessions), .real(at), .bool(foreignSessions != nil), .optionalInt(capacity),
                  .int(Int(accountID))])
    }

    func setAccountAPIRefused(accountID: Int64, until: Double) throws {
        try lock(account: accountID)
        try change("UPDATE accounts SET account_api_refused_until = $1 WHERE id = $2", [.real(until), .int(Int(accountID))])
    }

    func endpointsJSON(accountID: Int64) throws -> String? {
        try run("SELECT endpoints FROM accounts WHERE id = $1", [.int(Int(accountID))]).rows.first
            .flatMap { PostgresCells($0).string(0) }
    }

    func setEndpointsJSON(accountID: Int64, json: String) throws {
        try lock(account: accountID)
        try change("UPDATE accounts SET endpoints = $1 WHERE id = $2", [.text(json), .int(Int(accountID))])
    }

    // MARK: Snapshot

    /// The account (locked, in a write), then every row a decision reads in one statement, so
    /// the rows are one consistent state even in a read.
    func snapshot(accountID: Int64) throws -> AccountSnapshot? {
        guard let account = try account(id: accountID) else { return nil }
        var snapshot = AccountSnapshot(account: account)
        // Each holder's liveness, per row and only for rows that exist (docs/postgres-design.md,
        // "Holder liveness"): alive while the server is in its restart grace ($2), or when the key
        // is this connection's own ($3: our shared lock would not stop our own try), or when an
        // exclusive try on its key fails because the holder's connection holds it shared. A try
        // that succeeds (a dead key) holds that key until this transaction ends; a holder coming
        // back polls for its key meanwhile (PostgresConnectionBridge.takeHolderLock). No scan of
        // the server's lock table. CASE fixes the order: the try runs only when needed.
        func alive(_ key: String) -> String {
            "CASE WHEN $2 OR \(key) = $3 THEN true ELSE NOT pg_try_advisory_xact_lock(\(key)) END"
        }
        let rows = try run("""
            SELECT 0 AS kind, id, state, client_id, logout_claim_pid::bigint, logout_claim_boot, logout_claim_host,
                logout_claim_label, access_expires_at, refresh_expires_at, created_at, last_used_at, last_refreshed_at,
                handed_out_until, version::bigint, refresh_claim, refresh_claim_until, logout_claim_until, NULL::boolean,
                CASE WHEN logout_claim_pid IS NULL THEN false ELSE \(alive("logout_claim_lock")) END,
                logout_claim_start
            FROM sessions WHERE account_id = $1
            UNION ALL
            SELECT 1, id, session_id, label, holder_pid::bigint, holder_boot, holder_host, NULL,
                acquired_at, expires_at, NULL, NULL, NULL, NULL, holder_start, NULL, NULL, NULL, shared,
                \(alive("holder_lock")), NULL::bigint
            FROM leases WHERE account_id = $1
            UNION ALL
            SELECT 2, id, state, label, holder_pid::bigint, holder_boot, holder_host, NULL,
                started_at, deadline, NULL, NULL, NULL, NULL, holder_start, NULL, NULL, NULL, NULL,
                \(alive("holder_lock")), NULL::bigint
            FROM logins WHERE account_id = $1
            UNION ALL
            SELECT 3, ticket::text, NULL, label, holder_pid::bigint, holder_boot, holder_host, NULL,
                enqueued_at, heartbeat_at, NULL, NULL, NULL, NULL, holder_start, NULL, NULL, NULL, NULL,
                \(alive("holder_lock")), NULL::bigint
            FROM waiters WHERE account_id = $1
            ORDER BY 1, 2
            """, [.int(Int(accountID)), .bool(bridge.inRestartGrace), .int(Int(bridge.holderLock))]).rows
        // A holder that reconnected has rows under its old (dead) key and its new one: alive.
        var dead: Set<HolderIdentity> = []
        var alive: Set<HolderIdentity> = []
        defer { liveness?.record(dead: dead.subtracting(alive)) }
        for row in rows {
            let cells = PostgresCells(row)
            let holder = HolderIdentity(
                pid: cells.int(4) ?? 0, startTime: cells.int(14) ?? 0, bootID: cells.string(5) ?? "",
                host: cells.string(6) ?? "", label: cells.string(3) ?? "")
            // Sessions carry their logout claimer (if any) in the holder columns, start time in 20.
            let isSession = cells.int(0) == 0
            let claimer = isSession && cells.int(4) != nil
                ? HolderIdentity(pid: cells.int(4) ?? 0, startTime: cells.int(20) ?? 0, bootID: cells.string(5) ?? "",
                                 host: cells.string(6) ?? "", label: cells.string(7) ?? "")
                : nil
            if let tracked = isSession ? claimer : holder {
                if cells.bool(19) { alive.insert(tracked) } else { dead.insert(tracked) }
            }
            switch cells.int(0) {
            case 0:
                snapshot.sessions.append(SessionRecord(
                    id: cells.string(1) ?? "", state: SessionRecord.State(rawValue: cells.string(2) ?? "") ?? .loggingOut,
                    clientID: cells.string(3) ?? "", accessExpiresAt: cells.double(8) ?? 0,
                    refreshExpiresAt: cells.double(9), createdAt: cells.double(10) ?? 0, lastUsedAt: cells.double(11) ?? 0,
                    lastRefreshedAt: cells.double(12) ?? 0, handedOutUntil: cells.double(13) ?? 0,
                    version: cells.int(14) ?? 0, refreshClaim: cells.string(15), refreshClaimUntil: cells.double(16),
                    logoutClaimUntil: cells.double(17), logoutClaimer: claimer))
            case 1:
                snapshot.leases.append(LeaseRecord(
                    id: cells.string(1) ?? "", sessionID: cells.string(2) ?? "", shared: cells.bool(18), holder: holder,
                    acquiredAt: cells.double(8) ?? 0, expiresAt: cells.double(9) ?? 0))
            case 2:
                snapshot.logins.append(LoginRecord(
                    id: cells.string(1) ?? "", state: LoginRecord.State(rawValue: cells.string(2) ?? "") ?? .unknown,
                    holder: holder, startedAt: cells.double(8) ?? 0, deadline: cells.double(9) ?? 0))
            default:
                snapshot.waiters.append(WaiterRecord(
                    ticket: Int64(cells.string(1) ?? "") ?? 0, holder: holder,
                    enqueuedAt: cells.double(8) ?? 0, heartbeatAt: cells.double(9) ?? 0))
            }
        }
        snapshot.waiters.sort { $0.ticket < $1.ticket }
        return snapshot
    }

    func sealedTokens(sessionID: String) throws -> SealedTokens? {
        // They are opened with the key the registry records.
        try ensureKeyChecked()
        guard let row = try run("SELECT access_token, refresh_token FROM sessions WHERE id = $1", [.text(sessionID)]).rows.first
        else { return nil }
        let cells = PostgresCells(row)
        guard let access = cells.bytes(0), let refresh = cells.bytes(1) else { return nil }
        return SealedTokens(access: access, refresh: refresh)
    }

    func accountID(ofSession sessionID: String) throws -> Int64? {
        try run("SELECT account_id FROM sessions WHERE id = $1", [.text(sessionID)]).rows.first
            .flatMap { PostgresCells($0).int64(0) }
    }

    // MARK: Leases

    func holderValues(_ holder: HolderIdentity) -> [PostgresValue] {
        [.int(holder.pid), .int(holder.startTime), .text(holder.bootID), .text(holder.host), .text(holder.label),
         .int(Int(bridge.holderLock))]
    }

    func insertLease(_ lease: LeaseRecord, accountID: Int64) throws {
        try lock(account: accountID)
        try change("""
            INSERT INTO leases (id, session_id, account_id, shared, holder_pid, holder_start, holder_boot,
                holder_host, label, holder_lock, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """, [.text(lease.id), .text(lease.sessionID), .int(Int(accountID)), .bool(lease.shared)]
            + holderValues(lease.holder) + [.real(lease.acquiredAt), .real(lease.expiresAt)])
    }

    func deleteLease(id: String) throws {
        try changeRow(of: "leases", where: "id", is: .text(id), "DELETE FROM leases WHERE id = $1", [.text(id)])
    }

    func extendLease(id: String, until: Double) throws -> Bool {
        try changeRow(of: "leases", where: "id", is: .text(id),
                      "UPDATE leases SET expires_at = GREATEST(expires_at, $1) WHERE id = $2", [.real(until), .text(id)]) > 0
    }

    func lease(id: String) throws -> LeaseRecord? {
        try run("""
            SELECT id, session_id, shared, holder_pid, holder_start, holder_boot, holder_host, label, acquired_at, expires_at
            FROM leases WHERE id = $1
            """, [.text(id)]).rows.first.map { row in
            let cells = PostgresCells(row)
            return LeaseRecord(
                id: cells.string(0) ?? "", sessionID: cells.string(1) ?? "", shared: cells.bool(2),
                holder: HolderIdentity(pid: cells.int(3) ?? 0, startTime: cells.int(4) ?? 0, bootID: cells.string(5) ?? "",
                                       host: cells.string(6) ?? "", label: cells.string(7) ?? ""),
                acquiredAt: cells.double(8) ?? 0, expiresAt: cells.double(9) ?? 0)
        }
    }

    // MARK: Logins

    func insertLogin(_ login: LoginRecord, accountID: Int64) throws {
        try lock(account: accountID)
        try change("""
            INSERT INTO logins (id, account_id, state, holder_pid, holder_start, holder_boot, holder_host, label,
                holder_lock, started_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """, [.text(login.id), .int(Int(accountID)), .text(login.state.rawValue)]
            + holderValues(login.holder) + [.real(login.startedAt), .real(login.deadline)])
    }

    func deleteLogin(id: String) throws {
        try changeRow(of: "logins", where: "id", is: .text(id), "DELETE FROM logins WHERE id = $1", [.text(id)])
    }

    func setLoginState(id: String, _ state: LoginRecord.State) throws {
        try changeRow(of: "logins", where: "id", is: .text(id),
                      "UPDATE logins SET state = $1 WHERE id = $2", [.text(state.rawValue), .text(id)])
    }

    // MARK: Sessions

    func insertSession(_ session: SessionRecord, tokens: SealedTokens, accountID: Int64) throws {
        try lock(account: accountID)
        try change("""
            INSERT INTO sessions (id, account_id, client_id, state, access_token, refresh_token, access_expires_at,
                refresh_expires_at, created_at, last_used_at, last_refreshed_at, handed_out_until, version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """, [.text(session.id), .int(Int(accountID)), .text(session.clientID), .text(session.state.rawValue),
                  .bytes(tokens.access), .bytes(tokens.refresh), .real(session.accessExpiresAt),
                  .optionalReal(session.refreshExpiresAt), .real(session.createdAt), .real(session.lastUsedAt),
                  .real(session.lastRefreshedAt), .real(session.handedOutUntil), .int(session.version)])
    }

    func updateTokens(
        sessionID: String, tokens: SealedTokens, accessExpiresAt: Double, refreshExpiresAt: Double?,
        now: Double, expectedVersion: Int
    ) throws -> Bool {
        try changeRow(of: "sessions", where: "id", is: .text(sessionID), """
            UPDATE sessions SET access_token = $1, refresh_token = $2, access_expires_at = $3, refresh_expires_at = $4,
                last_refreshed_at = $5, version = version + 1, refresh_claim = NULL, refresh_claim_until = NULL
            WHERE id = $6 AND version = $7
            """, [.bytes(tokens.access), .bytes(tokens.refresh), .real(accessExpiresAt), .optionalReal(refreshExpiresAt),
                  .real(now), .text(sessionID), .int(expectedVersion)]) > 0
    }

    func setRefreshClaim(sessionID: String, leaseID: String?, until: Double?) throws {
        try changeRow(of: "sessions", where: "id", is: .text(sessionID),
                      "UPDATE sessions SET refresh_claim = $1, refresh_claim_until = $2 WHERE id = $3",
                      [.optionalText(leaseID), .optionalReal(until), .text(sessionID)])
    }

    func markLoggingOut(sessionID: String, claimUntil: Double, claimer: HolderIdentity) throws {
        try changeRow(of: "sessions", where: "id", is: .text(sessionID), """
            UPDATE sessions SET state = 'logging_out', logout_claim_until = $1, logout_claim_pid = $2,
                logout_claim_start = $3, logout_claim_boot = $4, logout_claim_host = $5, logout_claim_label = $6,
                logout_claim_lock = $7
            WHERE id = $8
            """, [.real(claimUntil)] + holderValues(claimer) + [.text(sessionID)])
    }

    func releaseLogoutClaim(sessionID: String, at now: Double) throws {
        try changeRow(of: "sessions", where: "id", is: .text(sessionID),
                      "UPDATE sessions SET logout_claim_until = $1 WHERE id = $2", [.real(now), .text(sessionID)])
    }

    func deleteSession(id: String) throws {
        try lockAccount(of: "sessions", where: "id", is: .text(id))
        try change("DELETE FROM leases WHERE session_id = $1", [.text(id)])
        try change("DELETE FROM sessions WHERE id = $1", [.text(id)])
    }

    func touchSession(id: String, at: Double, handedOutUntil: Double) throws {
        try changeRow(of: "sessions", where: "id", is: .text(id),
                      "UPDATE sessions SET last_used_at = $1, handed_out_until = GREATEST(handed_out_until, $2) WHERE id = $3",
                      [.real(at), .real(handedOutUntil), .text(id)])
    }

    // MARK: Waiters

    func enqueueWaiter(accountID: Int64, holder: HolderIdentity, now: Double) throws -> Int64 {
        try lock(account: accountID)
        wrote = true
        return try run("""
            INSERT INTO waiters (account_id, holder_pid, holder_start, holder_boot, holder_host, label, holder_lock,
                enqueued_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ticket
            """, [.int(Int(accountID))] + holderValues(holder) + [.real(now), .real(now)]
        ).rows.first.flatMap { PostgresCells($0).int64(0) } ?? 0
    }

    func heartbeatWaiter(ticket: Int64, now: Double) throws {
        try changeRow(of: "waiters", where: "ticket", is: .int(Int(ticket)),
                      "UPDATE waiters SET heartbeat_at = $1 WHERE ticket = $2", [.real(now), .int(Int(ticket))])
    }

    func deleteWaiter(ticket: Int64) throws {
        try changeRow(of: "waiters", where: "ticket", is: .int(Int(ticket)),
                      "DELETE FROM waiters WHERE ticket = $1", [.int(Int(ticket))])
    }

    // MARK: Events

    /// Retention as in SQLite: 30 days and 20,000 rows, trimmed every 256th insert.
    static let eventRetentionSeconds: Double = 30 * 86_400
    static let eventRetentionRows: Int64 = 20_000

    func appendEvent(_ event: EventRecord) throws {
        wrote = true
        let id = try run("""
            INSERT INTO events (at, account_id, kind, session_id, lease_id, pid, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
            RETURNING id
            """, [.real(event.at), .optionalInt(event.accountID.map { Int($0) }), .text(event.kind.rawValue),
                  .optionalText(event.sessionID), .optionalText(event.leaseID), .optionalInt(event.pid), .text(event.detail)]
        ).rows.first.flatMap { PostgresCells($0).int64(0) } ?? 0
        if id % 256 == 0 {
            try change("DELETE FROM events WHERE id <= $1 OR at < $2",
                       [.int(Int(id - Self.eventRetentionRows)), .real(event.at - Self.eventRetentionSeconds)])
        }
    }

    func events(since: Double, accountID: Int64?, afterID: Int64?, limit: Int) throws -> [EventRecord] {
        try run("""
            SELECT id, at, account_id, kind, session_id, lease_id, pid, detail FROM events
            WHERE at >= $1 AND ($2::bigint IS NULL OR account_id = $2) AND id > $3 ORDER BY id DESC LIMIT $4
            """, [.real(since), .optionalInt(accountID.map { Int($0) }), .int(Int(afterID ?? 0)), .int(limit)]
        ).rows.reversed().map { row in
            let cells = PostgresCells(row)
            return EventRecord(
                id: cells.int64(0) ?? 0, at: cells.double(1) ?? 0, accountID: cells.int64(2),
                kind: EventRecord.Kind(rawValue: cells.string(3) ?? "") ?? .error, sessionID: cells.string(4),
                leaseID: cells.string(5), pid: cells.int(6), detail: cells.string(7) ?? "")
        }
    }

    func eventCounts(since: Double, accountID: Int64) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try run("SELECT kind, COUNT(*) FROM events WHERE at >= $1 AND account_id = $2 GROUP BY kind",
                           [.real(since), .int(Int(accountID))]).rows {
            let cells = PostgresCells(row)
            counts[cells.string(0) ?? "", default: 0] = cells.int(1) ?? 0
        }
        return counts
    }
}
