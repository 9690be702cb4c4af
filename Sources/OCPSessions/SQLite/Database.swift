import CSQLite

/// A thin, synchronous connection to one SQLite file.
///
/// The registry needs only a handful of statements, and the `token` command's warm path is dominated
/// by process start, so a ~100-line wrapper over the C API beats a full ORM here (measured in
/// docs/architecture.md). A connection is used from one thread at a time; it is not `Sendable`.
public final class Database {
    let handle: OpaquePointer
    private var statementCache: [String: Statement] = [:]
    private let busyWait: BusyWait
    private let walWatch = WriteAheadLogWatch()

    /// Times this connection found the file locked by another process and waited.
    public var busyRetries: Int { busyWait.retries }

    /// Opens (or creates) the file. `busyTimeout` bounds how long a write waits for another process.
    /// `readOnly` never writes the file (and never creates it).
    public init(path: String, create: Bool = true, busyTimeout: Double = 15, readOnly: Bool = false) throws(SQLiteError) {
        var db: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        busyWait = BusyWait(timeout: busyTimeout)
        sqlite3_extended_result_codes(db, 1)
        busyWait.install(on: db)
    }

    /// Keeps the write-ahead log when the last connection closes: no checkpoint, no fsync and no
    /// delete-and-recreate of `-wal`/`-shm` per short-lived process (`token` spent 22 of its 35 ms
    /// there). Checkpoints still run automatically every 1,000 pages, and the log is truncated back
    /// to 4 MiB after each; a connection that closes with a long log truncates it when nobody else
    /// is using it (`WriteAheadLogWatch`).
    func keepWriteAheadLogOnClose() {
        var persist: Int32 = 1
        sqlite3_file_control(handle, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
        ocp_sqlite3_no_checkpoint_on_close(handle)
        try? execute("PRAGMA journal_size_limit = 4194304")
        walWatch.install(on: handle)
    }

    /// Makes every committed transaction durable against a power loss: fsyncs the write-ahead log.
    /// With `synchronous=NORMAL` a commit reaches the OS but not the disk; the few commits that must
    /// survive a power cut (a login reservation, before its request is sent) call this after
    /// committing. Returns false (and does nothing) when no log is open.
    @discardableResult
    public func syncWriteAheadLog() throws(SQLiteError) -> Bool {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = sqlite3_file_control(handle, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file)
        guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else { return false }
        let rc = sync(file, SQLITE_SYNC_NORMAL)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "cannot sync the write-ahead log") }
        return true
    }

    deinit {
        statementCache.removeAll()
        walWatch.truncateIfLong(handle)
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(error)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// A prepared statement, cached by its text for the life of the connection.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statementCache[sql] {
            cached.reset()
            return cached
        }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        let statement = Statement(database: self, handle: stmt)
        statementCache[sql] = statement
        return statement
    }

    /// Runs `sql` with `bindings` and returns every row.
    @discardableResult
    public func query(_ sql: String, _ bindings: [SQLValue] = []) throws(SQLiteError) -> [Row] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        var rows: [Row] = []
        while let row = try statement.step() { rows.append(row) }
        return rows
    }

    /// Runs `sql` and returns the first row, if any.
    public func queryOne(_ sql: String, _ bindings: [SQLValue] = []) throws(SQLiteError) -> Row? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        return try statement.step()
    }

    /// Runs `sql` (an INSERT/UPDATE/DELETE) and returns the number of rows changed.
    @discardableResult
    public func run(_ sql: String, _ bindings: [SQLValue] = []) throws(SQLiteError) -> Int {
        let statement = try prepare(sql)
        defer { statement.reset() }
        try statement.bind(bindings)
        while try statement.step() != nil {}
        return Int(sqlite3_changes(handle))
    }

    /// The rowid of the last INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, because a
    /// DEFERRED read-then-write loses to SQLITE_BUSY on the lock upgrade, which the busy handler
    /// does not retry. Commits when `body` returns, rolls back when it throws.
    /// `BEGIN` and `COMMIT` run as cached statements: `sqlite3_exec` would parse them on every
    /// transaction, twice per warm acquire and once per release.
    public func immediateTransaction<T>(_ body: () throws -> T) throws -> T {
        try run("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try run("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot; never blocks writers in WAL mode).
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try run("BEGIN DEFERRED")
        defer { _ = try? run("COMMIT") }
        return try body()
    }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: lastErrorMessage)
    }
}
