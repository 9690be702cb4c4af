import Foundation

/// The rows of a SQLite registry as `migrate-registry` copies them to another backend: every
/// column as stored (sealed tokens byte for byte: no key is needed and no token is opened).
public struct SQLiteRegistryExport: Sendable {
    /// One table's columns (by name) and rows, in the order they were read.
    public struct Table: Sendable {
        public var columns: [String]
        public var rows: [[SQLValue]]
    }

    /// Tables in an order that satisfies their foreign keys.
    public static let copiedTables = ["accounts", "sessions", "leases", "logins", "events"]
    /// The newest events are kept, as many as a registry keeps at most.
    public static let eventLimit = 20_000

    public var schemaVersion: Int
    /// The id of the key the tokens are sealed with (recorded, or read from a sealed row of a
    /// registry older than schema 3); nil for a registry that never sealed anything.
    public var sealingKeyID: String?
    public var tables: [String: Table]
    /// Waiters are not copied: their processes queue again.
    public var waitersDropped: Int

    /// Reads the registry at `path` in one read transaction, opened read-only: the file is never
    /// written, migrated or created. A registry from a newer release is refused.
    public static func read(path: String) throws(RegistryError) -> SQLiteRegistryExport {
        try RegistryFileHeader.check(path)
        do {
            let db = try Database(path: path, create: false, readOnly: true)
            return try db.readTransaction {
                let version = try db.queryOne("PRAGMA user_version")?.int(0) ?? 0
                guard version > 0 else {
                    throw RegistryError.corrupt("\(path) is not an ocp-sessions registry (no schema); nothing was copied")
                }
                guard version <= Migrations.latestVersion else {
                    throw RegistryError.newerSchema(
                        "the registry \(path) has schema \(version), written by a newer ocp-sessions that this one (schema \(Migrations.latestVersion)) cannot copy; upgrade ocp-sessions")
                }
                var export = SQLiteRegistryExport(schemaVersion: version, sealingKeyID: nil, tables: [:], waitersDropped: 0)
                for table in copiedTables {
                    let columns = try db.query("SELECT name FROM pragma_table_info('\(table)')").compactMap { $0.string(0) }
                    let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
                    let sql = table == "events"
                        ? "SELECT \(list) FROM (SELECT * FROM events ORDER BY id DESC LIMIT \(eventLimit)) ORDER BY id"
                        : "SELECT \(list) FROM \(table) ORDER BY rowid"
                    export.tables[table] = Table(columns: columns, rows: try db.query(sql).map(\.values))
                }
                export.waitersDropped = try db.queryOne("SELECT COUNT(*) FROM waiters")?.int(0) ?? 0
                if version >= 3 {
                    export.sealingKeyID = try db.queryOne("SELECT value FROM registry_meta WHERE key = 'sealing_key_id'")?.string(0)
                }
                if export.sealingKeyID == nil {
                    export.sealingKeyID = try db.queryOne("SELECT hex(substr(access_token, 2, 4)) FROM sessions LIMIT 1")?.string(0)
                }
                return export
            }
        } catch {
            throw RegistryError.from(any: error, path: path)
        }
    }
}
