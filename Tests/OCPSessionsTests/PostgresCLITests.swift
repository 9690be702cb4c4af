import Foundation
import KeycloakSimulator
import OCPSessions
import OCPSessionsPostgres
import Testing

/// The command line on a PostgreSQL registry: real `ocp-sessions` processes, the simulator, a
/// database of its own on the test cluster per test.
@Suite("Command line on a PostgreSQL registry", .serialized,
       .enabled(if: PostgresTestCluster.available, "set OCP_SESSIONS_TEST_POSTGRES (eval \"$(.ci/postgres-up)\")"))
struct PostgresCLITests {
    static let key = Data(repeating: 11, count: 32).base64EncodedString()
    static let otherKey = Data(repeating: 12, count: 32).base64EncodedString()

    /// `body` with a CLI whose registry is a new database (dropped afterwards) and the team key.
    func withPostgresCLI(_ body: @escaping @Sendable (KeycloakSimulator, CLI, String) async throws -> Void) async throws {
        let database = try PostgresTestCluster.makeDatabase()
        defer { PostgresTestCluster.drop(database) }
        try await withCLI("ocp-pg-cli") { simulator, base in
            var cli = base
            cli.environment["OCP_SESSIONS_REGISTRY"] = database
            cli.environment["OCP_SESSIONS_KEY"] = Self.key
            try await body(simulator, cli, database)
        }
    }

    @Test("token, list, leases, status, events and revoke work on PostgreSQL; status names the backend without a password")
    func commands() async throws {
        try await withPostgresCLI { simulator, cli, database in
            var tokens: Set<String> = []
            for _ in 0..<3 {
                let result = try await cli.run(["token"])
                #expect(result.status == 0, "\(result.stderr)")
                tokens.insert(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(tokens.count == 1 && simulator.statistics().logins == 1, "three tokens share one session")
            #expect(try await SimTestRealm(simulator).protected(tokens.first ?? "").status == 200)

            let rows = try #require(try await cli.run(["list", "--json"]).json as? [[String: Any]])
            #expect(rows.map { $0["id"] as? String } == simulator.liveSessions(username: "alice").map(\.id))
            #expect(rows.first?["state"] as? String == "idle")

            let holder = try cli.start(["exec", "--label", "pg-holder", "--", "sh", "-c",
                                        "ocp-sessions token --lease \"$OCP_LEASE_ID\" >/dev/null 2>&1; sleep 2"],
                                       env: ["PATH": (TestPaths.binary as NSString).deletingLastPathComponent + ":/usr/bin:/bin"])
            try await waitFor { (try? await cli.run(["leases", "--json"]).json as? [String: Any])
                .flatMap { ($0["leases"] as? [Any])?.count } == 1 }
            #expect(try await holder.finish().status == 0)

            let status = try await cli.run(["status", "--offline"])
            let location = try #require(URLComponents(string: database))
            #expect(status.stdout.hasPrefix("backend: postgresql (postgres://postgres@127.0.0.1:\(location.port ?? 0)\(location.path))"),
                    "\(status.stdout)")
            let json = try #require(try await cli.run(["status", "--json", "--offline"]).json as? [String: Any])
            #expect(json["backend"] as? String == "postgresql")
            #expect((json["accounts"] as? [[String: Any]])?.first?["logins_last_hour"] as? Int == 1)
            let events = try await cli.run(["events", "--json"])
            #expect(events.stdout.contains("\"kind\":\"login\""))
            #expect(try await cli.run(["prune"]).status == 0)

            let spared = try await cli.run(["revoke", "--all"])
            #expect(spared.status == 1 && spared.stderr.contains("not revoked"), "a handed-out token is still valid: \(spared.stderr)")
            let revoke = try await cli.run(["revoke", "--all", "--force"])
            #expect(revoke.status == 0, "\(revoke.stderr)")
            #expect(simulator.liveSessions(username: "alice").isEmpty, "revoke logged the session out at the IAM")
            #expect((try await cli.run(["list", "--json"]).json as? [Any])?.isEmpty == true)
        }
    }

    @Test("status lists the sessions the registry does not know and revoke --foreign ends only them, on PostgreSQL")
    func foreignSessions() async throws {
        let database = try PostgresTestCluster.makeDatabase()
        defer { PostgresTestCluster.drop(database) }
        try await withCLI("ocp-pg-foreign", ForeignSessionTests.realm(.deny)) { simulator, base in
            var cli = base
            cli.environment["OCP_SESSIONS_REGISTRY"] = database
            cli.environment["OCP_SESSIONS_KEY"] = Self.key
            let foreign = simulator.createForeignSessions(username: "alice", count: 3, clientID: "other-tool")
            #expect(try await cli.run(["token"]).status == 0)
            let ours = try #require(try await cli.run(["list", "--json"]).json as? [[String: Any]]).compactMap { $0["id"] as? String }
            let status = try #require(try await cli.run(["status", "--json"]).json as? [String: Any])
            let account = try #require((status["accounts"] as? [[String: Any]])?.first)
            let listed = try #require((account["foreign_sessions"] as? [String: Any])?["sessions"] as? [[String: Any]])
            #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(foreign))
            #expect(account["effective_capacity"] as? Int == 2, "the census is recorded in the PostgreSQL registry")
            let revoked = try await cli.run(["revoke", "--foreign", "--json"])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            #expect(simulator.liveSessions(username: "alice").map(\.id) == ours)
        }
    }

    @Test("without the team key: exit 78 in one line; a host with another key: exit 78 and nothing changes")
    func keys() async throws {
        try await withPostgresCLI { simulator, cli, _ in
            let none = try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": nil])
            #expect(none.status == 78)
            #expect(none.stderr == "ocp-sessions: a PostgreSQL registry needs the team's key: OCP_SESSIONS_KEY or --key-file (every host the same)\n")
            #expect(simulator.statistics().logins == 0)

            #expect(try await cli.run(["token"]).status == 0)
            let before = try await cli.run(["list", "--json"]).stdout
            let eventsBefore = try await cli.run(["events", "--json"]).stdout
            for command in [["token"], ["token", "--force-refresh"], ["revoke", "--all"], ["prune"]] {
                let other = try await cli.run(command, env: ["OCP_SESSIONS_KEY": Self.otherKey])
                #expect(other.status == 78, "\(command): \(other.stderr)")
                #expect(other.stderr.contains("sealed with another key"), "\(command): \(other.stderr)")
                #expect(other.stderr.split(separator: "\n").count == 1)
            }
            #expect(try await cli.run(["list", "--json"]).stdout == before)
            #expect(try await cli.run(["events", "--json"]).stdout == eventsBefore)
            #expect(simulator.statistics().logins == 1 && simulator.statistics().logouts == 0)
            #expect(simulator.liveSessions(username: "alice").count == 1)

            // --key-file: the same key from a 0600 file; a file others can read is refused.
            let keyFile = cli.directory + "/team.key"
            _ = FileManager.default.createFile(atPath: keyFile, contents: Data((Self.key + "\n").utf8), attributes: [.posixPermissions: 0o600])
            let fromFile = try await cli.run(["token", "--key-file", keyFile], env: ["OCP_SESSIONS_KEY": Self.otherKey])
            #expect(fromFile.status == 0, "--key-file wins over OCP_SESSIONS_KEY: \(fromFile.stderr)")
            let viaEnv = try await cli.run(["list"], env: ["OCP_SESSIONS_KEY": nil, "OCP_SESSIONS_KEY_FILE": keyFile])
            #expect(viaEnv.status == 0)
            chmod(keyFile, 0o644)
            let loose = try await cli.run(["token", "--key-file", keyFile])
            #expect(loose.status == 78 && loose.stderr.contains("accessible to other users"), "\(loose.stderr)")
        }
    }

    @Test("bad PostgreSQL URLs are usage errors (exit 64); a password in the URL is refused and never echoed")
    func badURLs() async throws {
        try await withCLI("ocp-pg-url") { _, cli in
            for url in ["postgres://u:hunter2-in-url@127.0.0.1/db", "postgres://127.0.0.1:70000/db", "postgres://u@127.0.0.1/",
                        "postgres://u@127.0.0.1/db?sslmode=sometimes", "postgres://u@127.0.0.1/db?colour=blue"] {
                let result = try await cli.run(["list", "--registry", url], env: ["OCP_SESSIONS_KEY": Self.key])
                #expect(result.status == 64, "\(url): \(result.stderr)")
                #expect(result.stderr.hasPrefix("ocp-sessions: ") && result.stderr.split(separator: "\n").count == 1)
                #expect(!result.stderr.contains("hunter2"))
            }
        }
    }

    @Test("migrate-registry copies a SQLite registry: the same session serves tokens from PostgreSQL; a second copy is refused; the file is unchanged")
    func migrateRegistry() async throws {
        try await withPostgresCLI { simulator, pg, database in
            var sqlite = pg
            sqlite.environment["OCP_SESSIONS_REGISTRY"] = pg.directory + "/registry.sqlite"
            sqlite.environment["OCP_SESSIONS_KEY"] = nil
            let first = try await sqlite.run(["token", "--json"])
            #expect(first.status == 0, "\(first.stderr)")
            let sessionID = try #require((first.json as? [String: Any])?["session_id"] as? String)
            let path = pg.directory + "/registry.sqlite"
            let before = try Data(contentsOf: URL(fileURLWithPath: path))

            let copy = try await pg.run(["migrate-registry", "--from", path, "--to", database])
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout.contains("accounts: 1") && copy.stdout.contains("sessions: 1") && copy.stdout.contains("events: "),
                    "\(copy.stdout)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "the SQLite file is left as it was")

            // The SQLite registry's own key file is the team key now.
            let keyFile = path + ".key"
            let served = try await pg.run(["token", "--json", "--key-file", keyFile], env: ["OCP_SESSIONS_KEY": nil])
            #expect(served.status == 0, "\(served.stderr)")
            #expect((served.json as? [String: Any])?["session_id"] as? String == sessionID)
            #expect(simulator.statistics().logins == 1, "the copied session was reused, no new login")

            let again = try await pg.run(["migrate-registry", "--from", path, "--to", database])
            #expect(again.status == 65 && again.stderr.contains("already holds a registry"), "\(again.stderr)")
            let missing = try await pg.run(["migrate-registry", "--from", pg.directory + "/nothing.sqlite", "--to", database])
            #expect(missing.status == 66)
            let notURL = try await pg.run(["migrate-registry", "--from", path, "--to", pg.directory + "/x.sqlite"])
            #expect(notURL.status == 64)
        }
    }

    @Test("the database password (PGPASSWORD) never appears in any output, error or event")
    func passwordNeverShown() async throws {
        let password = "pg-secret-" + UUID().uuidString.prefix(12)
        let role = "ocp_leak_" + UUID().uuidString.prefix(8).lowercased()
        try PostgresTestCluster.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        defer { _ = try? PostgresTestCluster.execute("DROP ROLE IF EXISTS \(role)") }
        let owned = try PostgresTestCluster.makeDatabase(owner: role)
        defer { PostgresTestCluster.drop(owned) }
        let name = String(URLComponents(string: owned)?.path.dropFirst() ?? "")
        let database = PostgresTestCluster.url(database: name, user: role)
        try await withCLI("ocp-pg-leak") { simulator, base in
            var cli = base
            cli.environment["OCP_SESSIONS_REGISTRY"] = database
            cli.environment["OCP_SESSIONS_KEY"] = Self.key
            cli.environment["PGPASSWORD"] = password
            var outputs: [CLIResult] = []
            for command in [["token"], ["token", "--json"], ["list"], ["list", "--json"], ["leases"], ["status", "--offline"],
                            ["status", "--json", "--offline"], ["events"], ["events", "--json"], ["prune"]] {
                let result = try await cli.run(command)
                #expect(result.status == 0, "\(command): \(result.stderr)")
                outputs.append(result)
            }
            // Failures: a wrong key, an unreachable port, the password put in the URL.
            outputs.append(try await cli.run(["token"], env: ["OCP_SESSIONS_KEY": Self.otherKey]))
            var unreachable = URLComponents(string: database)!
            unreachable.port = 1
            outputs.append(try await cli.run(["list", "--registry", unreachable.string!],
                                             env: ["OCP_SESSIONS_BUSY_TIMEOUT": "0.5"]))
            var withPassword = URLComponents(string: database)!
            withPassword.password = password
            outputs.append(try await cli.run(["list", "--registry", withPassword.string!]))
            #expect(outputs.last?.status == 64)
            let scanner = LeakScanner(tokens: [], passwords: [password])
            for output in outputs {
                #expect(scanner.find(in: Array((output.stdout + output.stderr).utf8)).isEmpty,
                        "the password leaked: \(output.stderr)")
            }
            let events = try PostgresTestCluster.execute("SELECT string_agg(detail, ' ') FROM events", database: name)
            #expect(!(events.first??.contains(password) ?? false))
            #expect(simulator.statistics().logins == 1)
        }
    }
}

/// SQLite's `status` names its backend too.
@Suite("status names the backend")
struct StatusBackendTests {
    @Test("status on SQLite: backend: sqlite (PATH), and \"backend\" in JSON")
    func sqliteBackend() async throws {
        try await withCLI("ocp-status-backend") { _, cli in
            #expect(try await cli.run(["token"]).status == 0)
            let text = try await cli.run(["status", "--offline"])
            #expect(text.stdout.hasPrefix("backend: sqlite (\(cli.directory)/registry.sqlite)\n"), "\(text.stdout)")
            let json = try #require(try await cli.run(["status", "--json", "--offline"]).json as? [String: Any])
            #expect(json["backend"] as? String == "sqlite")
        }
    }
}

/// In CI the PostgreSQL tests must run: a missing cluster fails there instead of skipping them.
@Suite("PostgreSQL test cluster in CI")
struct PostgresCIPresenceTests {
    @Test("CI provides OCP_SESSIONS_TEST_POSTGRES (.ci/run starts a cluster)")
    func presentInCI() {
        let ci = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
        #expect(!ci || PostgresTestCluster.available,
                "CI is set but OCP_SESSIONS_TEST_POSTGRES is not: the PostgreSQL tests would not run; start a cluster with .ci/postgres-up")
    }
}

/// The library on a PostgreSQL registry: `RegistryBackends.open` (what `DefaultPool` and
/// `acquireLease` use) once `PostgresBackend.register()` ran.
@Suite("Library on a PostgreSQL registry", .enabled(if: PostgresTestCluster.available, "set OCP_SESSIONS_TEST_POSTGRES"))
struct PostgresLibraryTests {
    @Test("once PostgresBackend.register() ran, RegistryBackends.open opens a URL and leases work on it")
    func acquireOnPostgres() async throws {
        let database = try PostgresTestCluster.makeDatabase()
        defer { PostgresTestCluster.drop(database) }
        var environment = ProcessInfo.processInfo.environment
        environment["OCP_SESSIONS_KEY"] = PostgresCLITests.key
        try await withSimulator({ config in config.sessionLimit = 2 }) { simulator in
            PostgresBackend.register()
            let opened = try RegistryBackends.open(database, environment: environment)
            #expect(opened.backend == "postgresql")
            #expect(opened.description == "postgresql (\(opened.store.location))" && !opened.description.contains("@127.0.0.1:0"))
            let pool = SessionPool(registry: opened.store, connector: KeycloakConnector(environment: [:]), liveness: opened.liveness)
            let account = AccountConfiguration(host: simulator.baseURL, username: "alice", maxSessions: 2, password: .constant("alice-pass"))
            let first = try await pool.acquireLease(account: account)
            let second = try await pool.acquireLease(account: account)
            #expect(first.sessionID != second.sessionID)
            await first.release()
            let third = try await pool.acquireLease(account: account)
            #expect(third.sessionID == first.sessionID, "a released session is reused")
            await second.release()
            await third.release()
            await pool.shutdown()
            #expect(simulator.statistics().logins == 2)
            // SQLite locations never go through the PostgreSQL opener.
            let dir = TestPaths.temporaryDirectory()
            defer { TestPaths.remove(dir) }
            #expect(try RegistryBackends.open(dir + "/r.sqlite", environment: environment).backend == "sqlite")
        }
    }
}
