import Foundation
import KeycloakSimulator
import Testing

/// The command line driven as a user would: real processes of the built binary, a real registry
/// file, the simulator on 127.0.0.1.
@Suite("Command line", .serialized)
struct CLITests {
    @Test("token prints the token alone; ten calls share one session")
    func tokenReuse() async throws {
        try await withCLI("ocp-cli") { simulator, cli in
            var tokens: Set<String> = []
            for _ in 0..<10 {
                let result = try await cli.run(["token"])
                #expect(result.status == 0)
                #expect(result.stderr.isEmpty)
                let lines = result.stdout.split(separator: "\n")
                #expect(lines.count == 1)
                tokens.insert(String(lines.first ?? ""))
            }
            #expect(tokens.count == 1)
            #expect(simulator.statistics().logins == 1)
            #expect(try await SimTestRealm(simulator).protected(tokens.first ?? "").status == 200)
        }
    }

    @Test("token --json, list --json, status --json, leases --json and events --json: field by field")
    func jsonShapes() async throws {
        try await withCLI("ocp-cli") { simulator, cli in
            let token = try await cli.run(["token", "--json"])
            #expect(token.status == 0)
            let object = try #require(token.json as? [String: Any])
            #expect(Set(object.keys) == ["access_token", "expires_at", "session_id", "lease_id"])
            let sessionID = try #require(object["session_id"] as? String)
            #expect((object["expires_at"] as? String)?.hasSuffix("Z") == true)
            #expect(simulator.liveSessions(username: "alice").map(\.id) == [sessionID])

            let list = try await cli.run(["list", "--json"])
            let rows = try #require(list.json as? [[String: Any]])
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(row["id"] as? String == sessionID)
            #expect(row["username"] as? String == "alice")
            #expect(row["realm"] as? String == "master")
            #expect(row["host"] as? String == simulator.baseURL)
            #expect(row["client_id"] as? String == "ocp")
            #expect(row["state"] as? String == "idle")
            for field in ["created_at", "last_used_at", "access_expires_at", "refresh_expires_at"] {
                #expect((row[field] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil, "\(field)")
            }
            #expect(row["lease"] is NSNull)
            #expect(!list.stdout.contains(object["access_token"] as? String ?? "-"))

            let status = try #require(try await cli.run(["status", "--json"]).json as? [String: Any])
            #expect(status["schema_version"] as? Int == 2)
            #expect((status["registry"] as? String)?.hasSuffix("registry.sqlite") == true)
            let account = try #require((status["accounts"] as? [[String: Any]])?.first)
            #expect(account["limit"] as? Int == 5)
            #expect((account["sessions"] as? [String: Int])?["idle"] == 1)
            #expect(account["logins_last_hour"] as? Int == 1)

            // A lease held by exec shows in list and leases.
            let holder = try cli.start(["exec", "--label", "nightly-sync", "--", "sleep", "3"])
            try await waitFor { (try? await cli.run(["leases", "--json"]).json as? [String: Any])
                .flatMap { ($0["leases"] as? [Any])?.count } == 1 }
            let leases = try #require(try await cli.run(["leases", "--json"]).json as? [String: Any])
            let lease = try #require((leases["leases"] as? [[String: Any]])?.first)
            #expect(lease["label"] as? String == "nightly-sync")
            #expect(lease["session_id"] as? String == sessionID)
            #expect(lease["pid"] as? Int32 == holder.pid)
            #expect((lease["account"] as? [String: Any])?["host"] as? String == simulator.baseURL)
            #expect(lease["host"] as? String == ProcessInfo.processInfo.hostName || lease["host"] is String)
            let leasedRow = try #require((try await cli.run(["list", "--json"]).json as? [[String: Any]])?.first)
            #expect(leasedRow["state"] as? String == "leased")
            #expect((leasedRow["lease"] as? [String: Any])?["label"] as? String == "nightly-sync")
            let table = try await cli.run(["list"])
            #expect(table.stdout.contains("'nightly-sync' pid \(holder.pid)"))
            #expect(try await holder.finish().status == 0)

            let events = try await cli.run(["events", "--json", "--since", "10m"])
            let kinds = events.stdout.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["kind"] as? String
            }
            #expect(kinds.first == "login")
            #expect(kinds.contains("lease"))
            #expect(kinds.contains("release"))
        }
    }

    @Test("flags win over environment variables, which win over the profile, which wins over defaults")
    func precedence() async throws {
        try await withCLI("ocp-cli", { $0.users = ["alice": "alice-pass", "bob": "bob-pass"] }) { simulator, cli in
            try """
                default_profile = "team"

                [profiles.team]
                host = "\(simulator.baseURL)"
                username = "carol"
                realm = "nowhere"
                max-sessions = "3"
                """.write(toFile: cli.directory + "/config.toml", atomically: true, encoding: .utf8)
            let fromProfile: [String: String?] = ["OCP_HOST": nil, "OCP_USERNAME": nil, "OCP_REALM": nil]
            // Profile only: realm "nowhere" is unknown to the IAM.
            let unknownRealm = try await cli.run(["token"], env: fromProfile)
            #expect(unknownRealm.status == 78)
            // Environment over profile: realm and username.
            var env = fromProfile
            env["OCP_REALM"] = "master"
            env["OCP_USERNAME"] = "bob"
            env["OCP_PASSWORD"] = "bob-pass"
            #expect(try await cli.run(["token"], env: env).status == 0)
            // Flag over environment.
            #expect(try await cli.run(["token", "--username", "alice"], env: env.merging(["OCP_PASSWORD": "alice-pass"]) { $1 }).status == 0)
            let everyAccount: [String: String?] = ["OCP_HOST": nil, "OCP_USERNAME": nil, "OCP_SESSIONS_CONFIG": "/nonexistent"]
            let rows = try #require(try await cli.run(["list", "--json"], env: everyAccount).json as? [[String: Any]])
            #expect(Set(rows.compactMap { $0["username"] as? String }) == ["alice", "bob"])
            // The profile's max-sessions reached the registry; the default realm is master.
            let status = try #require(try await cli.run(["status", "--json"], env: everyAccount).json as? [String: Any])
            let limits = (status["accounts"] as? [[String: Any]] ?? []).compactMap { $0["limit"] as? Int }
            #expect(limits.count == 3 && limits.allSatisfy { $0 == 3 })  // carol@nowhere, bob, alice
            let defaults = try await cli.run(["token", "--username", "alice"], env: ["OCP_REALM": nil, "OCP_SESSIONS_CONFIG": "/nonexistent"])
            #expect(defaults.status == 0)
            // A named profile from the flag beats the default profile.
            let missing = try await cli.run(["token", "--profile", "absent"], env: env)
            #expect(missing.status == 78)
            #expect(missing.stderr.contains("absent"))
        }
    }

    @Test("every documented exit code, each with one line on stderr and no secret in it")
    func exitCodes() async throws {
        try await withCLI("ocp-cli", { $0.sessionLimit = 1; $0.accessTokenLifespan = 20 }) { simulator, cli in
            func expectFailure(_ result: CLIResult, _ code: Int32, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(result.status == code, "\(result.stderr)", sourceLocation: sourceLocation)
                #expect(result.stderr.hasPrefix("ocp-sessions: "), sourceLocation: sourceLocation)
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
                #expect(fragment.isEmpty || result.stderr.contains(fragment), "\(result.stderr)", sourceLocation: sourceLocation)
                #expect(!result.stderr.contains("alice-pass") && !result.stderr.contains("wrong-pass"), sourceLocation: sourceLocation)
                #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
            }
            expectFailure(try await cli.run(["token", "--min-validity", "-1"]), 64, "--min-validity")
            expectFailure(try await cli.run(["token", "--no-such-flag"]), 64, "no-such-flag")
            expectFailure(try await cli.run(["revoke"]), 64, "exactly one")
            expectFailure(try await cli.run(["token"], env: ["OCP_HOST": nil]), 78, "no IAM host")
            expectFailure(try await cli.run(["token"], env: ["OCP_USERNAME": nil]), 78, "no username")
            expectFailure(try await cli.run(["token"], env: ["OCP_PASSWORD": nil]), 78, "OCP_PASSWORD")
            expectFailure(try await cli.run(["token", "--min-validity", "60"]), 78, "cannot be met")
            expectFailure(try await cli.run(["token", "--client-id", "nope"], env: ["OCP_SESSIONS_REGISTRY": cli.directory + "/other.sqlite"]), 78, "client")
            let loose = cli.directory + "/password"
            try "alice-pass\n".write(toFile: loose, atomically: true, encoding: .utf8)
            chmod(loose, 0o644)
            expectFailure(try await cli.run(["token", "--password-file", loose], env: ["OCP_PASSWORD": nil, "OCP_SESSIONS_REGISTRY": cli.directory + "/pf.sqlite"]), 78, "chmod 600")
            expectFailure(try await cli.run(["token"], env: ["OCP_PASSWORD": "wrong-pass", "OCP_SESSIONS_REGISTRY": cli.directory + "/wrong.sqlite"]), 77, "")
            expectFailure(try await cli.run(["token", "--wait", "1"], env: ["OCP_HOST": "http://127.0.0.1:9", "OCP_SESSIONS_REGISTRY": cli.directory + "/down.sqlite"]), 69, "")

            // The one session is held by exec: a second caller times out naming the holder.
            let holder = try cli.start(["exec", "--min-validity", "5", "--label", "nightly-sync", "--", "sleep", "4"])
            try await waitFor { simulator.liveSessions(username: "alice").count == 1 }
            try await Task.sleep(nanoseconds: 300_000_000)
            let waited = try await cli.run(["token", "--min-validity", "5", "--wait", "1"])
            expectFailure(waited, 75, "'nightly-sync' pid \(holder.pid)")
            #expect(try await holder.finish().status == 0)

            // A damaged registry is refused and left as it was.
            let damaged = cli.directory + "/damaged.sqlite"
            let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) })
            _ = FileManager.default.createFile(atPath: damaged, contents: garbage, attributes: [.posixPermissions: 0o600])
            expectFailure(try await cli.run(["list"], env: ["OCP_SESSIONS_REGISTRY": damaged]), 65, "")
            #expect(FileManager.default.contents(atPath: damaged) == garbage)

            // revoke exits 1 when something could not be revoked.
            let unknown = try await cli.run(["revoke", "no-such-session"])
            #expect(unknown.status == 1)
            #expect(unknown.stdout.contains("not-found"))
        }
    }

    @Test("password from a 0600 file, a command and stdin; never from a flag value")
    func passwordSources() async throws {
        try await withCLI("ocp-cli") { simulator, cli in
            let file = cli.directory + "/password"
            _ = FileManager.default.createFile(atPath: file, contents: Data("alice-pass\n".utf8), attributes: [.posixPermissions: 0o600])
            let noEnv: [String: String?] = ["OCP_PASSWORD": nil]
            for (index, arguments) in [["--password-file", file], ["--password-command", "echo alice-pass"], ["--password-stdin"]].enumerated() {
                var env = noEnv
                env["OCP_SESSIONS_REGISTRY"] = cli.directory + "/p\(index).sqlite"
                let result = try await cli.run(["token"] + arguments, env: env, stdin: "alice-pass\n")
                #expect(result.status == 0, "\(arguments): \(result.stderr)")
            }
            var env = noEnv
            env["OCP_SESSIONS_REGISTRY"] = cli.directory + "/failing.sqlite"
            let failing = try await cli.run(["token", "--password-command", "exit 3"], env: env)
            #expect(failing.status == 78)
            #expect(simulator.statistics().loginAttempts == 3)
            #expect(try await cli.run(["token", "--password", "alice-pass"], env: noEnv).status == 64)
        }
    }

    @Test("revoke: ids, --idle, --all with --force, and the IAM agrees afterwards")
    func revoke() async throws {
        try await withCLI("ocp-cli", { $0.accessTokenLifespan = 2 }) { simulator, cli in
            // Three sessions: three holders at once.
            let holders = try (0..<3).map { _ in try cli.start(["exec", "--min-validity", "1", "--", "sleep", "1.5"]) }
            for holder in holders { #expect(try await holder.finish().status == 0) }
            #expect(simulator.liveSessions(username: "alice").count == 3)
            // Their tokens are still valid: --idle needs --force for them.
            let guarded = try await cli.run(["revoke", "--idle", "--json"])
            #expect(guarded.status == 1)
            let outcomes = try #require(guarded.json as? [[String: Any]])
            #expect(outcomes.allSatisfy { $0["result"] as? String == "needs-force" })
            let first = try #require(simulator.liveSessions(username: "alice").first?.id)
            let one = try await cli.run(["revoke", "--force", first])
            #expect(one.status == 0)
            #expect(one.stdout.contains("revoked: \(first)"))
            #expect(simulator.liveSessions(username: "alice").count == 2)
            // A session the IAM already forgot counts as revoked.
            let second = try #require(simulator.liveSessions(username: "alice").first?.id)
            simulator.killSession(id: second)
            let all = try await cli.run(["revoke", "--all", "--force"])
            #expect(all.status == 0, "\(all.stdout) \(all.stderr)")
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect((try await cli.run(["list", "--json"]).json as? [Any])?.isEmpty == true)
            #expect(try await cli.run(["revoke", "--all"], env: ["OCP_HOST": nil]).status == 78)
            #expect(try await cli.run(["revoke", "--all", "--all-accounts"], env: ["OCP_HOST": nil]).status == 0)
        }
    }

    @Test("prune logs out expired and idle sessions, never one whose handed-out token is valid")
    func prune() async throws {
        try await withCLI("ocp-cli", { $0.accessTokenLifespan = 1.5 }) { simulator, cli in
            #expect(try await cli.run(["token", "--min-validity", "1"]).status == 0)
            let kept = try await cli.run(["prune", "--idle-timeout", "0", "--json"], env: ["OCP_HOST": nil, "OCP_USERNAME": nil])
            #expect(kept.status == 0)
            #expect((kept.json as? [String: Any])?["kept_for_handed_out_tokens"] as? Int == 1)
            #expect(simulator.liveSessions(username: "alice").count == 1)
            try await Task.sleep(nanoseconds: 1_700_000_000)
            let pruned = try await cli.run(["prune", "--idle-timeout", "0", "--json"], env: ["OCP_HOST": nil, "OCP_USERNAME": nil])
            #expect(pruned.status == 0)
            let sessions = (pruned.json as? [String: Any])?["sessions"] as? [[String: Any]]
            #expect(sessions?.first?["reason"] as? String == "idle")
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(simulator.statistics().logouts == 1)
        }
    }

    @Test("--help has an example on every command; completion scripts for bash, zsh and fish")
    func helpAndCompletion() async throws {
        let cli = CLI(directory: NSTemporaryDirectory(), simulator: nil)
        for command in ["token", "exec", "list", "leases", "revoke", "prune", "status", "events", "simulate", "simulator"] {
            let help = try await cli.run([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("ocp-sessions \(command)"), "\(command)")
            #expect(help.stdout.lowercased().contains("example"), "\(command)")
        }
        for shell in ["bash", "zsh", "fish"] {
            let script = try await cli.run(["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.stdout.contains("revoke"))
        }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitFor(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    Issue.record("condition not met within \(seconds)s")
}
