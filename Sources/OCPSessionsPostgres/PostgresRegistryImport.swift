import Foundation
import OCPSessions
import PostgresNIO

/// What `migrate-registry` copied, per table.
public struct RegistryCopyCounts: Sendable, Equatable {
    public var accounts = 0, sessions = 0, leases = 0, logins = 0, events = 0
    /// Waiters are dropped: their processes queue again.
    public var waitersDropped = 0
    /// The sealing key id the copy records (nil: the source never sealed anything).
    public var sealingKeyID: String?

    public init() {}
}

/// Copies a SQLite registry into an empty PostgreSQL one (docs/postgres-design.md,
/// "migrate-registry"). No key is needed: sealed tokens are copied byte for byte and open on the
/// PostgreSQL side with the key that sealed them.
public enum PostgresRegistryImport {
    /// Opens (and migrates) the database, refuses one that holds any account (exit 65: a copy is
    /// never merged), and copies in one transaction with the accounts table locked: accounts,
    /// sessions, leases and logins as dead holders (`holder_lock` 0, which no connection holds: the
    /// safe reading), the newest events, then the sealing key id; the identity sequences are moved
    /// past the copied ids. Waiters are dropped.
    public static func copy(_ export: SQLiteRegistryExport, to settings: PostgresRegistrySettings) throws -> RegistryCopyCounts {
        let bridge = PostgresConnectionBridge(settings: settings)
        defer { bridge.close() }
        do {
            return try bridge.lock.withLock {
                try bridge.ensureOpen()
                _ = try PostgresRegistry.migrate(bridge)
                return try bridge.transaction { try copyRows(export, bridge: bridge) }
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: "copying the registry")
        }
    }

    private static func copyRows(_ export: SQLiteRegistryExport, bridge: PostgresConnectionBridge) throws -> RegistryCopyCounts {
        let tx = PostgresTransaction(bridge: bridge, writing: false)
        // No host may start using the registry half-copied (a host's upsert waits for the commit).
        try tx.run("LOCK TABLE accounts IN EXCLUSIVE MODE")
        let existing = try tx.run("SELECT COUNT(*)::bigint FROM accounts").rows.first.flatMap { PostgresCells($0).int(0) } ?? 0
        guard existing == 0 else {
            throw RegistryError.corrupt(
                "the target \(bridge.settings.location) already holds a registry (\(existing) account(s)); migrate-registry copies only into an empty database, never merges")
        }
        var counts = RegistryCopyCounts()
        for table in SQLiteRegistryExport.copiedTables {
            guard let source = export.tables[table] else { continue }
            let copied = try copy(table: table, source, tx: tx)
            switch table {
            case "accounts": counts.accounts = copied
            case "sessions": counts.sessions = copied
            case "leases": counts.leases = copied
            case "logins": counts.logins = copied
            default: counts.events = copied
            }
        }
        // Recorded after the sessions: the trigger then lets through rows a past rekey could not
        // re-seal, which stay as unusable as they were.
        if let id = export.sealingKeyID {
            try tx.run("""
                INSERT INTO registry_meta (key, value) VALUES ('sealing_key_id', $1)
                ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                """, [.text(id)])
        }
        for (table, column) in [("accounts", "id"), ("events", "id"), ("waiters", "ticket")] {
            try tx.run("SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'), COALESCE((SELECT MAX(\(column)) FROM \(table)), 0) + 1, false)")
        }
        counts.waitersDropped = export.waitersDropped
        counts.sealingKeyID = export.sealingKeyID
        return counts
    }

    /// Inserts the rows of one table, many per statement, converting each column to the target's
    /// type. Target columns the source lacks (an older schema) are left to their defaults; the
    /// holder's lock key is 0 (a dead holder's).
    private static func copy(table: String, _ source: SQLiteRegistryExport.Table, tx: PostgresTransaction) throws -> Int {
        let targetColumns = try tx.run("""
            SELECT column_name::text, data_type::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
            """, [.text(table)]).rows.map { row -> (String, String) in
            let cells = PostgresCells(row)
            return (cells.string(0) ?? "", cells.string(1) ?? "")
        }
        let index = Dictionary(source.columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let sourcePid = index["logout_claim_pid"]
        var columns: [(name: String, type: String, value: ([SQLValue]) -> PostgresValue)] = []
        for (name, type) in targetColumns {
            if let position = index[name] {
                columns.append((name, type, { convert($0[position], to: type) }))
            } else if name == "holder_lock" {
                columns.append((name, type, { _ in .int(0) }))
            } else if name == "logout_claim_lock", let sourcePid {
                // A recorded claimer reads as dead, as a holder does: its logout is retried at once.
                columns.append((name, type, { $0[sourcePid] == .null ? .optionalInt(nil) : .int(0) }))
            }
        }
        guard !columns.isEmpty, !source.rows.isEmpty else { return 0 }
        let names = columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
        let perStatement = max(1, 20_000 / columns.count)
        var start = 0
        while start < source.rows.count {
            let chunk = source.rows[start..<min(start + perStatement, source.rows.count)]
            var values: [PostgresValue] = []
            var tuples: [String] = []
            for row in chunk {
                var placeholders: [String] = []
                for column in columns {
                    values.append(column.value(row))
                    placeholders.append("$\(values.count)::\(column.type)")
                }
                tuples.append("(" + placeholders.joined(separator: ", ") + ")")
            }
            try tx.run("INSERT INTO \(table) (\(names)) VALUES \(tuples.joined(separator: ", "))", values)
            start += chunk.count
        }
        return source.rows.count
    }

    /// A SQLite value as the target column's type; NULL stays NULL (cast by the statement).
    static func convert(_ value: SQLValue, to type: String) -> PostgresValue {
        switch (value, type) {
        case (.null, _): return .optionalText(nil)
        case (.integer(let number), "boolean"): return .bool(number != 0)
        case (.integer(let number), "double precision"): return .real(Double(number))
        case (.integer(let number), _): return .int(Int(number))
        case (.real(let number), "bigint"), (.real(let number), "integer"): return .int(Int(number))
        case (.real(let number), _): return .real(number)
        case (.blob(let bytes), _): return .bytes(bytes)
        case (.text(let text), "bytea"): return .bytes(Array(text.utf8))
        case (.text(let text), _): return .text(text)
        }
    }
}
