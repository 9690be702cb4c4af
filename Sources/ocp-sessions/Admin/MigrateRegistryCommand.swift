import ArgumentParser
import Foundation
import OCPSessions
import OCPSessionsPostgres

struct MigrateRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-registry",
        abstract: "Copy a SQLite registry into an empty PostgreSQL database.",
        discussion: """
            Opens the SQLite registry read-only (it is left as it was), creates the schema in the \\
            PostgreSQL database, refuses a database that already holds a registry (exit 65: a copy is \\
            never merged), and copies in one transaction: the sealing key id, accounts, sessions (sealed \\
            tokens byte for byte: no key is needed), leases and logins (as held by dead processes: they are \\
            reclaimed, or counted as unknown logins), and the newest 20,000 events. Waiters are dropped. \\
            Stop the registry's users first, then point every host at the URL with the same key.

            Example:
              PGPASSWORD=... ocp-sessions migrate-registry --from ~/.local/state/ocp-sessions/registry.sqlite \\
                  --to postgres://ocp@db.example.com/ocp?sslmode=verify-full

            Exit codes: 0 copied; 64 bad URL; 65 target not empty, damaged or newer source; 66 no source; \\
            75 database unreachable or locked.
            """
    )

    @Option(help: "The SQLite registry to copy (left unchanged).")
    var from: String
    @Option(help: "The PostgreSQL database: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...] (password from PGPASSWORD or ~/.pgpass).")
    var to: String
    @Flag(help: "Print the counts as one JSON object.")
    var json = false

    func validate() throws {
        guard RegistryBackends.isPostgresURL(to) else {
            throw ValidationError("--to must be a postgres:// or postgresql:// URL")
        }
    }

    func run() async throws {
        try await CommandRunner.run {
            let environment = ProcessInfo.processInfo.environment
            let busyTimeout = try BusyTimeoutSetting.resolve(environment)
            let target = try RegistryOpener.postgresSettings(to, busyTimeout: busyTimeout, environment: environment)
            try RegistryPresence.requireExisting(from)
            let counts: RegistryCopyCounts
            do {
                counts = try PostgresRegistryImport.copy(try SQLiteRegistryExport.read(path: from), to: target)
            } catch {
                throw OCPSessionsError.wrap(error)
            }
            let rows: [(String, Int)] = [
                ("accounts", counts.accounts), ("sessions", counts.sessions), ("leases", counts.leases),
                ("logins", counts.logins), ("events", counts.events), ("waiters_dropped", counts.waitersDropped),
            ]
            if json {
                print(JSONOutput.object([("from", .string(from)), ("to", .string(target.location))]
                    + rows.map { ($0.0, .integer($0.1)) }
                    + [("sealing_key_id", counts.sealingKeyID.map { .string($0) } ?? .null)]))
            } else {
                print("copied \(from) to \(target.location):")
                for (table, count) in rows { print("  \(table.replacingOccurrences(of: "_", with: " ")): \(count)") }
                if let id = counts.sealingKeyID {
                    print("tokens are sealed with key \(id): give every host that key (OCP_SESSIONS_KEY or --key-file)")
                }
            }
        }
    }
}
