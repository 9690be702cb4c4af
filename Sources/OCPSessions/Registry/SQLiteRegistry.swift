import CSQLite
import Foundation

/// The registry in one SQLite file (WAL mode), shared by every process on the host.
///
/// Opening is cheap on the warm path: the file's modes are checked, WAL is confirmed, and the
/// schema version is read from the header (`PRAGMA user_version`); migrations run only when that
/// version is behind, inside `BEGIN IMMEDIATE` so that processes opening a fresh file at once do not
/// race.
public final class SQLiteRegistry: RegistryStore, @unchecked Sendable {
    public let path: String
    public let keySource: SealingKeySource
    public private(set) var schemaVersion: Int
    // One connection per registry object; calls are short and serialised by this lock.
    let database: Database
    let lock = NSLock()
    /// Queues this host's writers in turn (nil: the gate file could not be made; SQLite's busy
    /// handler alone then orders them).
    private let writeGate: WriteGate?
    // The keys, switched inside transactions (under `lock`) and read by their bodies: a lock of
    // its own, since `lock` is held while a body runs.
    private let keyLock = NSLock()
    private var keyring: SealingKeyring
    let environment: [String: String]

    /// The keys this registry seals and opens with. Inside a transaction the sealing key is the
    /// one the registry records as current (checked at the start of every transaction).
    public internal(set) var sealer: SealingKeyring {
        get { keyLock.withLock { keyring } }
        set { keyLock.withLock { keyring = newValue } }
    }

    public var location: String { path }

    /// Opens or creates the registry at `path`. `busyTimeout` bounds how long a transaction waits
    /// for another process's write lock.
    public init(
        path: String, busyTimeout: Double = 15,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(RegistryError) {
        self.path = path
        self.environment = environment
        try FileSecurity.prepareRegistryFile(path)
        try RegistryFileHeader.check(path)
        (database, schemaVersion) = try Self.openDatabase(path: path, busyTimeout: busyTimeout)
        for suffix in ["-wal", "-shm", "-gate"] {
            try FileSecurity.checkPrivate(path: path + suffix, what: "registry file")
        }
        writeGate = WriteGate(registryPath: path, timeout: min(busyTimeout, 1))
        (keyring, keySource) = try SealingKeyLoader.load(registryPath: path, environment: environment)
    }

    /// Opens the file and brings its schema up to date. When many processes open a new registry at
    /// once, a step of the first open (the switch to WAL, the migration) can answer "busy" without
    /// SQLite's busy handler having waited (seen in CI: 1 of 16 workers exiting 75 at start-up);
    /// the whole open is then tried again, with short jittered pauses, within `busyTimeout`.
    static func openDatabase(path: String, busyTimeout: Double) throws(RegistryError) -> (Database, Int) {
        let deadline = BusyWait.monotonic() + busyTimeout
        while true {
            do {
                let database = try Database(path: path, create: false, busyTimeout: busyTimeout)
                return (database, try openSchema(database, path: path))
            } catch {
                let failure = RegistryError.from(any: error, path: path)
                guard case .busy = failure, BusyWait.monotonic() < deadline else { throw failure }
                usleep(UInt32.random(in: 2_000...20_000))
            }
        }
    }

    /// Confirms WAL, then brings the schema up to date, or refuses one from a newer release.
    static func openSchema(_ db: Database, path: String) throws -> Int {
        // Reading the header first fails cleanly (SQLITE_NOTADB) on a file that is not SQLite,
        // before anything could be written to it.
        guard let version = try db.queryOne("PRAGMA user_version")?.int(0) else {
            throw RegistryError.corrupt("the registry \(path) cannot be read")
        }
        if version == 0 || version < Migrations.latestVersion {
            try db.execute("PRAGMA journal_mode=WAL")
        }
        try db.execute("PRAGMA synchronous=NORMAL")
        db.keepWriteAheadLogOnClose()
        if version > Migrations.latestVersion {
            let compatible = try db.queryOne(
                "SELECT value FROM registry_meta WHERE key = 'compatible_from'")?.string(0).flatMap(Int.init) ?? version
            guard compatible <= Migrations.latestVersion else {
                throw RegistryError.newerSchema(
                    "the registry \(path) has schema \(version), written by a newer ocp-sessions that this one (schema \(Migrations.latestVersion)) cannot use; upgrade ocp-sessions")
            }
            return version
        }
        if version == Migrations.latestVersion { return version }
        return try migrate(db)
    }

    /// Applies pending migrations in one `BEGIN IMMEDIATE` transaction, re-reading the version
    /// under the lock because a peer may have migrated meanwhile.
    static func migrate(_ db: Database) throws -> Int {
        try db.immediateTransaction {
            let current = try db.queryOne("PRAGMA user_version")?.int(0) ?? 0
            try db.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)
                """)
            var version = current
            for migration in Migrations.all where migration.version > current {
                try db.execute(String(decoding: migration.sql, as: UTF8.self))
                try db.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.int(migration.version), .text(migration.name), .real(Date().timeIntervalSince1970)])
                try db.run(
                    "INSERT OR REPLACE INTO registry_meta (key, value) VALUES ('compatible_from', ?)",
                    [.text(String(migration.compatibleFrom))])
                version = migration.version
            }
            try db.execute("PRAGMA user_version = \(version)")
            return version
        }
    }

    public func write<T>(_ body: (RegistryWriter) throws -> T) throws -> T {
        try lock.withLock {
            let db = database
            do {
                return try WriteGate.serialize(writeGate) {
                    try db.immediateTransaction {
                        try syncSealingKey(db, writing: true)
                        return try body(SQLiteTransaction(db: db))
                    }
                }
            } catch let error as SQLiteError {
                throw RegistryError.from(error, path: path)
            }
        }
    }

    public func read<T>(_ body: (RegistryReader) throws -> T) throws -> T {
        try lock.withLock {
            let db = database
            do {
                return try db.readTransaction {
                    try syncSealingKey(db, writing: false)
                    return try body(SQLiteTransaction(db: db))
                }
            } catch let error as SQLiteError {
                throw RegistryError.from(error, path: path)
            }
        }
    }

    /// Makes the key the registry records as current the sealing key, reloading the key source
    /// when this process does not know it (a `rekey` by another process). One indexed read per
    /// transaction. A write transaction on a registry that records no key yet records this one; one
    /// whose key no source here holds fails, so no row is ever sealed with a key the others lack.
    /// A read transaction only switches when it can: its opens then report the unknown key.
    func syncSealingKey(_ db: Database, writing: Bool) throws {
        guard schemaVersion >= 3 else { return }  // the key id is recorded from schema 3 on
        let known = sealer
        guard let recorded = try db.queryOne("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'")?.string(0) else {
            if writing {
                // A row written by a release before schema 3 names the key in use.
                let inUse = try db.queryOne("SELECT hex(substr(access_token, 2, 4)) FROM sessions LIMIT 1")?.string(0)
                if let inUse, inUse != known.currentID, !known.contains(inUse) { throw Self.anotherKey(inUse, known, keySource) }
                var chosen = known
                if let inUse { _ = chosen.select(inUse) }
                try db.run("INSERT INTO registry_meta (key, value) VALUES ('sealing_key_id', ?)", [.text(chosen.currentID)])
                sealer = chosen
            }
            return
        }
        if recorded == known.currentID { return }
        var updated = known
        if !updated.select(recorded) {
            // Another process rekeyed: the key file (or a list in OCP_SESSIONS_KEY) has the new key.
            if let (reloaded, _) = try? SealingKeyLoader.load(registryPath: path, environment: environment) {
                updated = reloaded
            }
            guard updated.select(recorded) else {
                if writing { throw Self.anotherKey(recorded, known, keySource) }
                return
            }
        }
        sealer = updated
    }

    /// The error of a write on a registry whose recorded sealing key this process does not hold.
    public static func anotherKey(_ recorded: String, _ known: SealingKeyring, _ source: SealingKeySource) -> RegistryError {
        let fix = source == .environment
            ? "set OCP_SESSIONS_KEY to the registry's current key (it was probably rekeyed)"
            : "the key file does not hold it (was the registry used with OCP_SESSIONS_KEY, or the key file replaced?)"
        return .sealing("the registry's tokens are sealed with another key (key id \(recorded); \(source) holds \(known.keys.map { SealingKeyring.hex($0.keyID) }.joined(separator: ", "))): \(fix)")
    }

    /// `PRAGMA quick_check`: "ok" or SQLite's first complaint.
    /// `PRAGMA data_version`: changes when another connection commits; no lock taken.
    public func changeCounter() -> Int64? {
        lock.withLock { (try? database.queryOne("PRAGMA data_version"))?.int(0).map(Int64.init) }
    }

    /// `synchronous=NORMAL` leaves the last commits in the OS cache; this fsyncs the log.
    public func makeCommitsDurable() throws {
        try lock.withLock {
            do {
                try database.syncWriteAheadLog()
            } catch let error as SQLiteError {
                throw RegistryError.from(error, path: path)
            }
        }
    }

    /// Times this connection waited for another process's write lock.
    public var busyRetries: Int { lock.withLock { database.busyRetries } }

    public func integrityCheck() throws -> String {
        try lock.withLock {
            let db = database
            return try db.queryOne("PRAGMA quick_check")?.string(0) ?? "unknown"
        }
    }

    /// Runs raw SQL; for benchmarks' floor measurement and tests only.
    public func withDatabase<T>(_ body: (Database) throws -> T) rethrows -> T {
        try lock.withLock { try body(database) }
    }
}
