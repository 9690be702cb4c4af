/// The registry schema, as numbered SQL files in the top-level `Migrations/` folder, compiled into
/// the binary (`.embedInCode`) so that a binary copied alone still upgrades a registry.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// The file's bytes, as embedded.
    public let sql: [UInt8]
    /// The oldest schema version whose code can still use a registry at this version. Migrations
    /// are additive, so a process of the previous release keeps working during an upgrade.
    public let compatibleFrom: Int
}

public enum Migrations {
    /// Every migration, in order. A test checks this list against the files in `Migrations/`.
    public static let all: [Migration] = [
        Migration(version: 1, name: "0001_initial.sql", sql: PackageResources._001_initial_sql, compatibleFrom: 1),
        Migration(version: 2, name: "0002_foreign_sessions.sql", sql: PackageResources._002_foreign_sessions_sql, compatibleFrom: 1),
        // Schema 1 code keeps working: the triggers stop it from writing a row with a stale key.
        Migration(version: 3, name: "0003_sealing_key.sql", sql: PackageResources._003_sealing_key_sql, compatibleFrom: 1),
        Migration(version: 4, name: "0004_logout_claimer.sql", sql: PackageResources._004_logout_claimer_sql, compatibleFrom: 1),
    ]

    public static var latestVersion: Int { all.last?.version ?? 0 }
}

/// The PostgreSQL registry's schema: the `pg_`-prefixed files in `Migrations/`, numbered on their
/// own (PostgreSQL schema 1 holds SQLite schemas 1-3, schema 2 SQLite's 4). Embedded resources are named by file name,
/// hence the prefix. Design: docs/postgres-design.md.
public enum PostgresMigrations {
    /// Every migration, in order. A test checks this list against the `pg_` files in `Migrations/`.
    public static let all: [Migration] = [
        Migration(version: 1, name: "pg_0001_initial.sql", sql: PackageResources.pg_0001_initial_sql, compatibleFrom: 1),
        // SQLite schema 4: the logout claimer.
        Migration(version: 2, name: "pg_0002_logout_claimer.sql", sql: PackageResources.pg_0002_logout_claimer_sql, compatibleFrom: 1),
    ]

    public static var latestVersion: Int { all.last?.version ?? 0 }
}
