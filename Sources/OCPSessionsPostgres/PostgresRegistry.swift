import Foundation
import NIOConcurrencyHelpers
import OCPSessions
import PostgresNIO

/// The registry in a PostgreSQL database, shared by every host of a team (issue 7,
/// docs/postgres-design.md). Same contract as `SQLiteRegistry`: synchronous transactions, one
/// connection per registry object, calls serialised by `lock`.
public final class PostgresRegistry: RegistryStore, @unchecked Sendable {
    public let settings: PostgresRegistrySettings
    public let keySource: SealingKeySource
    public private(set) var schemaVersion: Int
    let bridge: PostgresConnectionBridge
    /// One transaction at a time on the connection; the background reconnect takes it too.
    var lock: NSLock { bridge.lock }
    // Internal, not private: `rekey` (PostgresRegistry+Rekey.swift) switches the key.
    let keyLock = NSLock()
    var keyring: SealingKeyring
    let environment: [String: String]
    /// Pass to `SessionPool(registry:connector:liveness:)`: holders are alive while their
    /// connection holds its lock, on any host.
    public let liveness = PostgresHolderLiveness()
    /// Commits of this object that wrote something: part of `changeCounter()`, read without
    /// waiting for a transaction in progress.
    private let ownCommits = NIOLockedValueBox<Int64>(0)

    public var location: String { settings.location }

    /// The transaction in progress and its thread, for `sealer`.
    private var active: (thread: pthread_t, transaction: PostgresTransaction)?

    /// The keys this registry seals and opens with; inside a transaction the registry's recorded key
    /// seals. Asked inside a transaction that has not read the recorded key yet (a body that seals
    /// before its first statement), it reads it first, as `SQLiteRegistry` does at `BEGIN`.
    public var sealer: SealingKeyring {
        let current = keyLock.withLock { active.flatMap { pthread_equal($0.thread, pthread_self()) != 0 ? $0.transaction : nil } }
        current?.ensureKeyCheckedLater()
        return keyLock.withLock { keyring }
    }

    /// Runs `body` with `transaction` as the one in progress on this thread.
    private func running<T>(_ transaction: PostgresTransaction, _ body: () throws -> T) rethrows -> T {
        keyLock.withLock { active = (pthread_self(), transaction) }
        defer { keyLock.withLock { active = nil } }
        return try body()
    }

    /// Connects and brings the schema up to date. The sealing key must be given
    /// (`OCP_SESSIONS_KEY` or the file `OCP_SESSIONS_KEY_FILE` names): a key generated here would
    /// differ from the other hosts'.
    public init(settings: PostgresRegistrySettings,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(RegistryError) {
        guard let given = try SealingKeyLoader.loadGiven(environment: environment) else {
            throw .badKey("a PostgreSQL registry needs the team's key: OCP_SESSIONS_KEY or --key-file (every host the same)")
        }
        self.settings = settings
        self.environment = environment
        (keyring, keySource) = given
        let bridge = PostgresConnectionBridge(settings: settings)
        self.bridge = bridge
        do {
            schemaVersion = try bridge.lock.withLock {
                try bridge.ensureOpen()
                return try Self.migrate(bridge)
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: "migrating")
        }
    }

    /// Any constant will do, as long as it is ours: held only while migrating.
    static let migrationLockKey: Int64 = 0x6F63_7073_6D69_6772

    /// Applies pending migrations in one transaction under an advisory lock, re-reading the
    /// version under it (hosts opening a fresh database at once do not race). Refuses a schema
    /// from a newer release that this one cannot use.
    static func migrate(_ bridge: PostgresConnectionBridge) throws -> Int {
        // The warm path: a current schema needs no transaction and no lock.
        let exists = try bridge.query("SELECT to_regclass('schema_migrations') IS NOT NULL").rows.first
            .map { try $0.decode(Bool.self) } ?? false
        if exists, try bridge.query("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations").rows.first
            .map({ try $0.decode(Int.self) }) == PostgresMigrations.latestVersion {
            return PostgresMigrations.latestVersion
        }
        try bridge.query("BEGIN")
        do {
            try bridge.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))")
            try bridge.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at double precision NOT NULL)
                """)
            let current = try bridge.query("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations")
                .rows.first.map { try $0.decode(Int.self) } ?? 0
            let latest = PostgresMigrations.latestVersion
            if current > latest {
                let compatible = try bridge.query("SELECT value FROM registry_meta WHERE key = 'compatible_from'")
                    .rows.first.flatMap { Int(try $0.decode(String.self)) } ?? current
                try bridge.query("ROLLBACK")
                guard compatible <= latest else {
                    throw RegistryError.newerSchema(
                        "the registry \(bridge.settings.location) has schema \(current), written by a newer ocp-sessions that this one (schema \(latest)) cannot use; upgrade ocp-sessions")
                }
                return current
            }
            for migration in PostgresMigrations.all where migration.version > current {
                for statement in PostgresSQLScript.statements(String(decoding: migration.sql, as: UTF8.self)) {
                    try bridge.query(PostgresQuery(unsafeSQL: statement), doing: "applying \(migration.name)")
                }
                var binds = PostgresBindings()
                binds.append(migration.version)
                binds.append(migration.name)
                binds.append(Date().timeIntervalSince1970)
                try bridge.query(PostgresQuery(
                    unsafeSQL: "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", binds: binds))
                var meta = PostgresBindings()
                meta.append(String(migration.compatibleFrom))
                try bridge.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO registry_meta (key, value) VALUES ('compatible_from', $1)
                    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                    """, binds: meta))
            }
            try bridge.query("COMMIT")
            return max(current, latest)
        } catch {
            _ = try? bridge.query("ROLLBACK")
            throw error
        }
    }

    public func write<T>(_ body: (RegistryWriter) throws -> T) throws -> T {
        try lock.withLock {
            try bridge.ensureOpen()
            try bridge.query("BEGIN")
            do {
                let transaction = PostgresTransaction(bridge: bridge, writing: true, liveness: liveness, keyCheck: keyCheck)
                let value = try running(transaction) { try body(transaction) }
                // A write that read no account yet checks the key now: a host without it commits nothing.
                try transaction.ensureKeyChecked()
                try bridge.query("COMMIT")
                if transaction.wrote { ownCommits.withLockedValue { $0 &+= 1 } }
                return value
            } catch {
                throw rollBack(after: error)
            }
        }
    }

    public func read<T>(_ body: (RegistryReader) throws -> T) throws -> T {
        try lock.withLock {
            try bridge.ensureOpen()
            try bridge.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            do {
                let transaction = PostgresTransaction(bridge: bridge, writing: false, liveness: liveness, keyCheck: keyCheck)
                let value = try running(transaction) { try body(transaction) }
                try bridge.query("COMMIT")
                return value
            } catch {
                throw rollBack(after: error)
            }
        }
    }

    /// Ends a failed transaction. A connection lost meanwhile (a restart, a cut) rolled it back
    /// already, unless its COMMIT went through unanswered: either way it is a busy error (exit 75)
    /// in one line, and the next transaction reconnects. Other errors pass through.
    private func rollBack(after error: any Error) -> any Error {
        // ROLLBACK answers on any live connection, even in a failed transaction.
        if bridge.isOpen, (try? bridge.query("ROLLBACK")) != nil { return error }
        return RegistryError.busy("the connection to the registry \(location) was lost during a transaction; try again")
    }

    /// Notifications from other connections (delivered at their COMMIT), reconnects, and this
    /// object's own writing commits: a local read, no round trip, never waiting for a transaction.
    public func changeCounter() -> Int64? {
        bridge.changes.withLockedValue { $0 } &+ ownCommits.withLockedValue { $0 }
    }

    /// `synchronous_commit = on`: every COMMIT already returned after its WAL was flushed.
    public func makeCommitsDurable() throws {}

    /// The key this registry's connection holds while it lives, recorded on its rows.
    public var holderLock: Int64 { bridge.holderLock }

    /// Makes the key the registry records (`recorded`, read by the transaction's first account
    /// statement or on its own) the sealing key, as `SQLiteRegistry.syncSealingKey` does; a write
    /// on a registry that records none records this process's key, and one whose key no source here
    /// holds fails, so it commits nothing.
    private var keyCheck: PostgresTransaction.KeyCheck {
        { [unowned self] recorded, transaction in try syncSealingKey(recorded: recorded, writing: transaction.writing) }
    }

    func syncSealingKey(recorded: String?, writing: Bool) throws {
        let known = keyLock.withLock { keyring }
        var recorded = recorded
        if recorded == nil {
            guard writing else { return }
            var binds = PostgresBindings()
            binds.append(known.currentID)
            // Two hosts may record at once: the first wins, the other reads the winner's id.
            recorded = try bridge.query(PostgresQuery(unsafeSQL: """
                INSERT INTO registry_meta (key, value) VALUES ('sealing_key_id', $1)
                ON CONFLICT (key) DO UPDATE SET value = registry_meta.value RETURNING value
                """, binds: binds)).rows.first.map { try $0.decode(String.self) }
        }
        guard let recorded, recorded != known.currentID else { return }
        var updated = known
        guard updated.select(recorded) else {
            if writing { throw SQLiteRegistry.anotherKey(recorded, known, keySource) }
            return
        }
        keyLock.withLock { keyring = updated }
    }

    /// Runs raw SQL on an open connection; for tests only.
    func withBridge<T>(_ body: (PostgresConnectionBridge) throws -> T) throws -> T {
        try lock.withLock {
            try bridge.ensureOpen()
            return try body(bridge)
        }
    }
}
