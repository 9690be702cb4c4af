import Foundation
import OCPSessions
import OCPSessionsPostgres

/// Phase 7 (issue 7): the registry's two backends side by side, on the same simulator: warm
/// acquire + release in one process, 8 processes on 5 sessions, and the wake-up latency of a
/// waiter (from a release to the waiting caller holding the session). PostgreSQL runs in a scratch
/// database created in the server `--postgres` names and dropped at the end; without that flag its
/// rows read "not measured".
extension Bench {
    func measureBackends() async {
        var backends: [(name: String, location: String, extra: [String: String], users: (BenchUser, BenchUser))] = [
            ("sqlite", directory + "/backend.sqlite", [:], (.sqliteBackend, .sqliteWakeUp)),
        ]
        var scratch: PostgresScratchDatabase?
        if let server = settings.postgres {
            do {
                let database = try PostgresScratchDatabase.create(on: server, name: "ocp_bench_\(getpid())", log: directory + "/psql.log")
                scratch = database
                let password = ProcessInfo.processInfo.environment["PGPASSWORD"] ?? ""
                backends.append(("postgresql", database.url, ["OCP_SESSIONS_KEY": Self.teamKey, "PGPASSWORD": password],
                                 (.postgresBackend, .postgresWakeUp)))
            } catch {
                notice("PostgreSQL rows not measured: \(error)")
            }
        } else {
            notice("PostgreSQL rows not measured: pass --postgres postgres://USER@HOST:PORT/DB (a server on 127.0.0.1 where the user may create databases)")
        }
        for backend in backends {
            do {
                backendRegistries.append((backend.location, backend.extra, backend.users.0))
                backendRegistries.append((backend.location, backend.extra, backend.users.1))
                report.backends.append(try await measureBackend(
                    backend.name, location: backend.location, extra: backend.extra, users: backend.users))
            } catch {
                notice("\(backend.name) backend phase stopped: \(error)")
            }
        }
        if let scratch {
            // Our sessions in it are revoked at the end (countSessionsAlive); the database goes after that.
            pendingCleanup.append { scratch.drop() }
        }
    }

    /// A random team key for the PostgreSQL registry of this run (every process of the run gets it).
    static let teamKey: String = {
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        return Data(bytes).base64EncodedString()
    }()

    private func measureBackend(
        _ name: String, location: String, extra: [String: String], users: (BenchUser, BenchUser)
    ) async throws -> BenchReport.BackendRow {
        let cycles = settings.quick ? 100 : 1_000
        progress("\(name) backend: warm path (\(cycles) cycles), 8 processes, waiter wake-up")
        var account = account(users.0)
        account.maxSessions = 5
        let warm = try await withPool(location, extra: extra) { pool in
            // Five sessions, as phase 1 has: every cycle after this is warm.
            try await countingIAM("setup: fill the pool (5 sessions, \(users.0.rawValue), \(name))") {
                var leases: [Lease] = []
                for _ in 0..<5 { leases.append(try await pool.acquireLease(account: account, options: Self.warmOptions)) }
                for lease in leases { await lease.release() }
                return leases.count
            }
            _ = try await Self.warmCycles(pool, account: account, cycles: min(50, cycles))
            var warm: Latency?
            try await countingIAM("ocp-sessions warm path, 1 process, \(name)") {
                let (samples, wall) = try await Self.warmCycles(pool, account: account, cycles: cycles)
                warm = Latency(samples: samples, wall: wall)
                return samples.count
            }
            return warm
        }
        // processRow counts the IAM's requests itself.
        let processes = await processRow(8, user: users.0, maxSessions: 5, label: ", \(name)", location: location, extra: extra)
        let wake = try await measureWakeUp(location, extra: extra, user: users.1, rounds: settings.quick ? 5 : 30)
        return BenchReport.BackendRow(
            backend: name, warm: warm ?? Latency(samples: [], wall: 0), processes: processes, wakeUp: wake)
    }

    /// A waiter blocked on the only session of a limit-1 account, on its own registry connection:
    /// the time from the holder's release returning to the waiter holding the session.
    private func measureWakeUp(_ location: String, extra: [String: String], user: BenchUser, rounds: Int) async throws -> Latency {
        try await withPool(location, extra: extra) { holderPool in
            try await withPool(location, extra: extra) { waiterPool in
                try await wakeUps(holderPool, waiterPool, user: user, location: location, rounds: rounds)
            }
        }
    }

    private func wakeUps(
        _ holderPool: SessionPool, _ waiterPool: SessionPool, user: BenchUser, location: String, rounds: Int
    ) async throws -> Latency {
        let account = {
            var account = self.account(user)
            account.maxSessions = 1
            return account
        }()
        let options = Self.warmOptions
        var samples: [Double] = []
        let started = Monotonic.now()
        try await countingIAM("waiter wake-up, \(rounds) rounds, \(location.hasPrefix("postgres") ? "postgresql" : "sqlite")") {
            for _ in 0..<rounds {
                let held = try await holderPool.acquireLease(account: account, options: Self.warmOptions)
                let waiter = Task { [waiterPool] in
                    let lease = try await waiterPool.acquireLease(account: account, options: options)
                    let woke = Monotonic.now()
                    await lease.release()
                    return woke
                }
                // Long enough for the waiter to find the session taken and settle into waiting.
                try await Task.sleep(nanoseconds: 50_000_000)
                await held.release()
                let released = Monotonic.now()
                samples.append(try await waiter.value - released)
            }
            return rounds * 2
        }
        return Latency(samples: samples, wall: Monotonic.now() - started)
    }

    /// Runs `body` on a pool on a path or a PostgreSQL URL (with the backend's own holder
    /// liveness), and shuts the pool down on every path.
    func withPool<T>(_ location: String, extra: [String: String], _ body: (SessionPool) async throws -> T) async throws -> T {
        PostgresBackend.register()
        let opened = try RegistryBackends.open(location, environment: extra)
        let pool = SessionPool(registry: opened.store, connector: KeycloakConnector(environment: [:]), liveness: opened.liveness)
        do {
            let value = try await body(pool)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

/// A database of its own on a PostgreSQL server, made and dropped with `psql` (Debian's
/// postgresql-client), so the benchmark never touches the database the URL names.
struct PostgresScratchDatabase: Sendable {
    let server: String
    let name: String
    /// Where psql's stderr goes (read back for an error message).
    let log: String
    /// The server URL with the scratch database in its path.
    let url: String

    enum Failure: Error, CustomStringConvertible {
        case noPsql, badURL, failed(String)
        var description: String {
            switch self {
            case .noPsql: "psql is not installed (apt-get install postgresql-client)"
            case .badURL: "--postgres must be a postgres:// URL naming a database"
            case .failed(let why): "could not create the scratch database: \(why)"
            }
        }
    }

    static func create(on server: String, name: String, log: String) throws -> PostgresScratchDatabase {
        guard let psql = Spawn.which("psql") else { throw Failure.noPsql }
        guard RegistryBackends.isPostgresURL(server), var parts = URLComponents(string: server), !parts.path.isEmpty
        else { throw Failure.badURL }
        parts.path = "/" + name
        guard let url = parts.string else { throw Failure.badURL }
        let database = PostgresScratchDatabase(server: server, name: name, log: log, url: url)
        guard database.run(psql, "CREATE DATABASE \(name)").succeeded else {
            let said = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init)
            throw Failure.failed(said ?? "psql failed")
        }
        return database
    }

    func drop() {
        guard let psql = Spawn.which("psql") else { return }
        _ = run(psql, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private func run(_ psql: String, _ statement: String) -> SpawnResult {
        var env = ["PATH": "/usr/bin:/bin"]
        env["PGPASSWORD"] = ProcessInfo.processInfo.environment["PGPASSWORD"]
        return Spawn.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server, "-c", statement],
                         environment: env, timeout: 60, stderrPath: log)
    }
}
