import Foundation
import KeycloakSimulator
import Testing

/// `exec`: status pass-through, signals, the environment, and a lease kept alive for longer than
/// several token lifetimes, across a session the IAM killed.
@Suite("exec", .serialized)
struct ExecTests {
    @Test("the command's status, 127 when not found, 128+N when signal N killed it; its environment")
    func statusAndEnvironment() async throws {
        try await withCLI("ocp-exec") { _, cli in
            #expect(try await cli.run(["exec", "--", "sh", "-c", "exit 3"]).status == 3)
            #expect(try await cli.run(["exec", "sh", "-c", "exit 0"]).status == 0)
            let missing = try await cli.run(["exec", "--", "no-such-command-here"])
            #expect(missing.status == 127)
            #expect(missing.stderr == "ocp-sessions: no-such-command-here: command not found\n")
            #expect(try await cli.run(["exec", "--", "sh", "-c", "kill -TERM $$"]).status == 128 + 15)
            let env = try await cli.run(["exec", "--", "env"], env: ["OCP_PASSWORD_FILE": "/x", "OCP_PASSWORD_COMMAND": "true"])
            let names = Set(env.stdout.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) })
            #expect(names.isSuperset(of: ["OCP_ACCESS_TOKEN", "OCP_SESSION_ID", "OCP_LEASE_ID", "OCP_SESSIONS_REGISTRY"]))
            #expect(names.filter { $0.hasPrefix("OCP_PASSWORD") }.isEmpty)
            #expect(!env.stdout.contains("alice-pass"))
            // Released afterwards, not logged out; --logout logs it out.
            #expect((try await cli.run(["list", "--json"]).json as? [[String: Any]])?.first?["state"] as? String == "idle")
            #expect(try await cli.run(["exec", "--logout", "--", "true"]).status == 0)
            #expect((try await cli.run(["list", "--json"]).json as? [Any])?.isEmpty == true)
        }
    }

    @Test("SIGINT, SIGTERM and SIGHUP reach the command; exec releases and returns its status")
    func signalForwarding() async throws {
        try await withCLI("ocp-exec") { simulator, cli in
            for (signal, code) in [(SIGTERM, 41), (SIGINT, 42), (SIGHUP, 43)] {
                let marker = cli.directory + "/ready-\(signal)"
                let running = try cli.start([
                    "exec", "--", "sh", "-c",
                    "trap 'exit \(code)' \(signal == SIGTERM ? "TERM" : signal == SIGINT ? "INT" : "HUP"); touch \(marker); while true; do sleep 0.05; done",
                ])
                try await waitFor { FileManager.default.fileExists(atPath: marker) }
                kill(running.pid, signal)
                let result = try await running.finish(timeout: 20)
                #expect(result.status == Int32(code), "signal \(signal): \(result.stderr)")
            }
            let leases = try #require(try await cli.run(["leases", "--json"]).json as? [String: Any])
            #expect((leases["leases"] as? [Any])?.isEmpty == true)
            #expect(simulator.statistics().logins == 1)
        }
    }

    @Test("token --lease and --token-file stay valid across several token lifetimes and a killed session")
    func longRunningHolder() async throws {
        try await withCLI("ocp-exec", { $0.accessTokenLifespan = 2 }) { simulator, cli in
            let tokenFile = cli.directory + "/token"
            let log = cli.directory + "/lease-tokens"
            let script = """
                i=0
                while [ $i -lt 16 ]; do
                  if t=$("$OCP_SESSIONS_BINARY" token --lease "$OCP_LEASE_ID" --min-validity 1); then echo "ok $t" >> \(log); else echo "failed $?" >> \(log); fi
                  sleep 0.5; i=$((i+1))
                done
                """
            let running = try cli.start(
                ["exec", "--min-validity", "1", "--token-file", tokenFile, "--", "sh", "-c", script],
                env: ["OCP_SESSIONS_BINARY": TestPaths.binary])
            let realm = SimTestRealm(simulator)
            var checked = 0
            var killedToken: String?
            var replacedAfterKill = false
            let started = Date()
            while running.process.isRunning && Date().timeIntervalSince(started) < 30 {
                let token = (try? String(contentsOfFile: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                // Until the holder next refreshes, the file keeps the killed session's token: the
                // IAM ended that session without telling anyone. Every other token must work.
                if !token.isEmpty && token != killedToken {
                    let status = try await realm.protected(token).status
                    #expect(status == 200, "token file held a dead token after \(Date().timeIntervalSince(started))s")
                    checked += 1
                    if killedToken != nil { replacedAfterKill = true }
                }
                if killedToken == nil && Date().timeIntervalSince(started) > 3, let session = simulator.liveSessions(username: "alice").first {
                    killedToken = token
                    simulator.killSession(id: session.id)
                }
                try await Task.sleep(nanoseconds: 300_000_000)
            }
            let result = try await running.finish()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(killedToken != nil)
            #expect(replacedAfterKill)
            #expect(checked >= 10)
            #expect(!FileManager.default.fileExists(atPath: tokenFile))
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 16)
            #expect(lines.allSatisfy { $0.hasPrefix("ok ") }, "\(lines.filter { !$0.hasPrefix("ok ") })")
            let stats = simulator.statistics()
            // The first login and the replacement of the killed session; refreshes in between.
            #expect(stats.logins == 2)
            #expect(stats.refreshes >= 3)
            // The killed session is found dead by whichever refresh comes first: the holder's and
            // a child's `token --lease` may each meet it once, never more.
            #expect(stats.refreshErrors.values.reduce(0, +) <= 2)
        }
    }

    @Test("20 concurrent exec invocations with limit 5: all run, never past the limit")
    func twentyConcurrent() async throws {
        try await withCLI("ocp-exec", { $0.sessionLimit = 5 }) { simulator, cli in
            let runs = try (0..<20).map { index in
                try cli.start(["exec", "--max-sessions", "5", "--label", "job-\(index)", "--", "sh", "-c", "sleep 0.3; exit \(index % 3)"])
            }
            var statuses: [Int32] = []
            for run in runs { statuses.append(try await run.finish().status) }
            let expected: [Int32] = (0..<20).map { Int32($0 % 3) }
            #expect(statuses == expected)
            let stats = simulator.statistics()
            #expect((stats.highWaterMark["alice"] ?? 0) <= 5)
            #expect(stats.denials == 0)
            #expect(stats.terminations == 0)
            #expect(stats.logins <= 5)
        }
    }
}
