import Foundation
import KeycloakSimulator
import OCPSessions
import Testing

/// "Never past the limit, never a dead token, nothing lost", under crashes and a misbehaving IAM:
/// real `ocp-sessions worker` processes on one registry against the simulator, whose counters would
/// trip if the promise broke. Each test prints one line of figures (docs/reliability.md);
/// `OCP_CHAOS_SEED` replays the random choices and `OCP_CHAOS_REPORT=1` lists every kill.
@Suite("Chaos: kills, IAM faults, IAM restart, rotation, a locked registry", .serialized)
struct ChaosTests {
    static let limit = 5

    /// What every run must leave behind: the IAM and the registry agree, the file is sound.
    func expectRegistryMatchesIAM(_ fleet: WorkerFleet, _ simulator: KeycloakSimulator, directory: String) async throws {
        // A lost login is settled through the account API with a live token: one acquire gives a
        // fresh one (the run's 2 s tokens have expired by now), then prune asks at once.
        #expect(try await fleet.command(["token", "--min-validity", "1"], directory: directory).status == 0)
        #expect(try await fleet.prune(directory: directory) == 0)
        #expect(try fleet.loginIDs().isEmpty, "login reservations left after prune")
        let atIAM = Set(simulator.liveSessions(username: "alice").map(\.id))
        let registry = try fleet.registrySessionIDs()
        // Exactly the same sessions: a logout cut short by a kill is retried as soon as its dead
        // claimer is seen (prune did that), not after its 30 s claim.
        #expect(atIAM == registry, "IAM only: \(atIAM.subtracting(registry)); registry only: \(registry.subtracting(atIAM))")
        #expect(try fleet.integrityCheck() == "ok")
    }

    // MARK: - Kills

    @Test("16 workers for 30 s, a random one SIGKILLed every few hundred ms and restarted")
    func randomKills() async throws {
        let seed = ChaosFigures.seed()
        let dir = TestPaths.temporaryDirectory("chaos")
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = Self.limit
            // Short tokens so sessions are refreshed all the time; a login cost so kills land mid-login.
            config.accessTokenLifespan = 2
            config.loginCost = 0.03
            // Sessions end after 66 s, so each is stale (less than a minute left) after 6 s and is
            // logged out and replaced: logins and logouts all through the run, not only at its start.
            config.ssoSessionMax = 66
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            // Kills stop 3 s before the end so the last ones are recovered while workers still run.
            let driver = ChaosDriver(
                fleet: fleet, directory: dir, count: 16, duration: 33, killUntil: 30, killDelay: 0.15...0.45, seed: seed,
                arguments: ["--protected-url", fleet.protectedURL, "--hold-ms", "5", "--min-validity", "1", "--wait", "20"])
            let results = try await driver.run()
            let duringRun = driver.kills
            try await expectRegistryMatchesIAM(fleet, simulator, directory: dir)
            driver.settleLogins(presentNow: try fleet.loginIDs())
            let stats = simulator.statistics()
            let kills = driver.kills

            let withLeases = kills.filter { !$0.leases.isEmpty }
            let withLogins = kills.filter { !$0.logins.isEmpty }
            let withLogouts = kills.filter { !$0.logouts.isEmpty }
            let logoutTimes = withLogouts.compactMap(\.logoutsBackAfter)
            let leaseTimes = withLeases.compactMap(\.leasesBackAfter)
            let loginTimes = withLogins.compactMap(\.loginsSettledAfter)
            let settledByPrune = withLogins.count - duringRun.filter { !$0.logins.isEmpty && $0.loginsSettledAfter != nil }.count
            let phases = KillPhase.allCases.map { phase in "\(phase.rawValue) \(kills.filter { $0.phase == phase }.count)" }
            ChaosFigures.print("""
                chaos kills: seed \(seed), 16 processes, 33 s, \(kills.count) kills (\(phases.joined(separator: ", "))); \
                leases back \(leaseTimes.count)/\(withLeases.count), max \(ChaosFigures.seconds(leaseTimes.max())); \
                logouts retried \(logoutTimes.count)/\(withLogouts.count), max \(ChaosFigures.seconds(logoutTimes.max())); \
                lost logins settled \(loginTimes.count)/\(withLogins.count) (\(settledByPrune) by prune after the run), \
                max \(ChaosFigures.seconds(loginTimes.max())); IAM: max sessions \(stats.highWaterMark["alice"] ?? 0) (limit \(Self.limit)), \
                \(stats.logins) logins, \(stats.refreshes) refreshes, \(stats.logouts) logouts, \(stats.denials) denials, \
                \(stats.protectedRequests) calls served, \(stats.deadTokenRequests) dead-token requests, \
                \(stats.concurrentRefreshes) concurrent refreshes; survivors: \(results.map(\.callsOK).reduce(0, +)) calls \
                ok, \(results.map(\.callsFailed).reduce(0, +)) failed, slowest token \
                \(ChaosFigures.seconds(results.flatMap(\.tokenLatencies).max()))
                """)
            if ChaosFigures.detailed {
                for kill in kills {
                    ChaosFigures.print(String(format: "  kill at %6.2fs pid %d: %@, %d lease(s) back after %@, %d login(s) settled after %@",
                        kill.at, kill.pid, kill.phase.rawValue, kill.leases.count, ChaosFigures.seconds(kill.leasesBackAfter),
                        kill.logins.count, ChaosFigures.seconds(kill.loginsSettledAfter)))
                }
            }

            // The schedule ran, and the workers (killed ones included) did work.
            #expect(kills.count >= 30)
            #expect(stats.protectedRequests > 500)
            // The promise, at the IAM.
            #expect((stats.highWaterMark["alice"] ?? 0) <= Self.limit)
            #expect(stats.deadTokenRequests == 0)
            #expect(stats.denials == 0, "the registry under-counted: the IAM's limiter refused a login")
            #expect(stats.refreshErrors.isEmpty, "refresh errors: \(stats.refreshErrors)")
            // Every lease of a killed process came back within 2 s: the next caller that looked saw
            // its holder dead.
            #expect(leaseTimes.count == withLeases.count, "leases never reclaimed: \(withLeases.filter(\.pendingLeases))")
            #expect((leaseTimes.max() ?? 0) <= 2, "lease recovery times: \(leaseTimes.sorted().suffix(5))")
            // So did every logout a killed process had claimed: its claim ends when it is seen dead.
            #expect(logoutTimes.count == withLogouts.count, "logouts never retried: \(withLogouts.filter(\.pendingLogouts))")
            #expect((logoutTimes.max() ?? 0) <= 2, "logout recovery times: \(logoutTimes.sorted().suffix(5))")
            // A killed login counts until the account API proves it gone (docs/architecture.md): a
            // process at the limit asks every 5 s at most, `prune` whenever it runs.
            #expect(loginTimes.count == withLogins.count, "lost logins never settled")
            // Survivors (the last process in each slot) saw no failure at all.
            for result in results {
                #expect(result.status == 0)
                #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
            }
        } }
    }

    // MARK: - IAM faults

    @Test("IAM faults at 10%: a valid token or a clear error within the wait, and no session leaked")
    func iamFaults() async throws {
        let seed = ChaosFigures.seed()
        let wait = 5.0, slow = 0.5
        let dir = TestPaths.temporaryDirectory("chaos-faults")
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = Self.limit
            config.accessTokenLifespan = 2
            config.loginCost = 0.02
            config.faults = FaultConfiguration(
                rate: 0.1, kinds: [.serverError, .dropConnection, .slowAnswer(seconds: slow), .notJSON], seed: seed)
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let driver = ChaosDriver(
                fleet: fleet, directory: dir, count: 12, duration: 10, killUntil: 0, killDelay: 1...1, seed: seed,
                arguments: ["--protected-url", fleet.protectedURL, "--hold-ms", "5", "--min-validity", "1",
                            "--wait", String(wait)])
            let results = try await driver.run()
            simulator.setFaults(.none)
            let stats = simulator.statistics()
            let tokens = results.flatMap(\.tokenLatencies)
            let failures = results.flatMap(\.acquireFailureLatencies)
            var exitCodes: [String: Int] = [:]
            for result in results { exitCodes.merge(result.acquireFailureExitCodes, uniquingKeysWith: +) }
            let protectedFailures = results.map(\.callsFailed).reduce(0, +) - failures.count
            ChaosFigures.print("""
                chaos faults: seed \(seed), 12 processes, 10 s, \(stats.faultsInjected) faults injected (10% of \
                IAM requests: 500, dropped connection, 504 after \(slow) s, HTML); \(tokens.count) tokens, max \
                \(ChaosFigures.seconds(tokens.max())); \(failures.count) acquire errors (exit codes \(exitCodes)), max \
                \(ChaosFigures.seconds(failures.max())) (wait \(wait) s); \(protectedFailures) protected calls faulted; IAM: max \
                sessions \(stats.highWaterMark["alice"] ?? 0), \(stats.logins) logins, \(stats.refreshes) refreshes, \
                \(stats.deadTokenRequests) dead-token requests
                """)

            #expect(stats.faultsInjected > 0)
            #expect(tokens.count > 200)
            #expect((stats.highWaterMark["alice"] ?? 0) <= Self.limit)
            #expect(stats.deadTokenRequests == 0)
            // Every acquire ended within its wait: a token, or an error. A generous margin covers the
            // request in flight at the deadline (a slow answer) and a loaded machine.
            let bound = wait + slow + 3
            #expect((tokens.max() ?? 0) <= bound)
            #expect((failures.max() ?? 0) <= bound)
            // Errors are the documented classes: the IAM unavailable (69), malformed answers (65),
            // or no session within the wait (75).
            #expect(Set(exitCodes.keys).isSubset(of: ["65", "69", "75"]), "exit codes: \(exitCodes)")
            for result in results {
                #expect(result.status == 0)
                for message in result.errors.keys { #expect(!message.isEmpty && !message.contains("\n")) }
            }
            // No session leaked at the IAM: the registry knows every one, and revoking ends them all.
            try await expectRegistryMatchesIAM(fleet, simulator, directory: dir)
            let revoke = try await fleet.command(["revoke", "--all", "--force"], directory: dir)
            #expect(revoke.status == 0, "revoke: \(revoke.stdout)")
            #expect(simulator.liveSessions(username: "alice").isEmpty)
            #expect(try fleet.registrySessionIDs().isEmpty)
        } }
    }

    // MARK: - IAM restart

    @Test("IAM restarted mid-run: new logins, no caller-visible error, limit held")
    func iamRestart() async throws {
        let dir = TestPaths.temporaryDirectory("chaos-restart")
        defer { TestPaths.remove(dir) }
        let lifetime = 2.0
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = Self.limit
            config.accessTokenLifespan = lifetime
            config.loginCost = 0.02
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            // A token handed out just before the restart is dead at the IAM: the workers do what a
            // Lease user does on a 401, ask the lease for a refreshed token (`--retry-unauthorized`).
            let driver = ChaosDriver(
                fleet: fleet, directory: dir, count: 10, duration: 10, killUntil: 0, killDelay: 1...1, seed: 1,
                arguments: ["--protected-url", fleet.protectedURL, "--hold-ms", "5", "--min-validity", "1", "--wait", "10",
                            "--retry-unauthorized"])
            let restarter = Task {
                try await Task.sleep(nanoseconds: 4_000_000_000)
                let before = simulator.statistics()
                simulator.restart()
                // Tokens issued before the restart have expired by then (plus a margin for a slow call).
                try await Task.sleep(nanoseconds: UInt64((lifetime + 2) * 1e9))
                return (before, simulator.statistics())
            }
            let results = try await driver.run()
            let (atRestart, afterOldTokens) = try await restarter.value
            let stats = simulator.statistics()
            let retried = results.map(\.retriedUnauthorized).reduce(0, +)
            ChaosFigures.print("""
                chaos restart: 10 processes, 10 s, IAM restarted at 4 s with \(atRestart.currentSessions["alice"] ?? 0) \
                sessions; \(stats.logins - atRestart.logins) logins after it; \(retried) calls retried after a 401 \
                (\(stats.deadTokenRequests) dead-token requests, all within \(Int(lifetime + 2)) s of the restart); \
                \(results.map(\.callsOK).reduce(0, +)) calls ok, \(results.map(\.callsFailed).reduce(0, +)) failed; max \
                sessions \(stats.highWaterMark["alice"] ?? 0)
                """)

            #expect(atRestart.deadTokenRequests == 0)
            #expect((atRestart.currentSessions["alice"] ?? 0) > 0)
            #expect(stats.logins > atRestart.logins, "no new login after the restart")
            #expect((stats.highWaterMark["alice"] ?? 0) <= Self.limit)
            // Only tokens issued before the restart were refused, and each such call was retried.
            #expect(stats.deadTokenRequests == afterOldTokens.deadTokenRequests)
            #expect(stats.deadTokenRequests <= retried)
            for result in results {
                #expect(result.status == 0)
                #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
            }
            try await expectRegistryMatchesIAM(fleet, simulator, directory: dir)
        } }
    }

    // MARK: - Rotation

    @Test("rotation on (Revoke Refresh Token, max reuse 0) with 16 processes: no reuse, no refresh error")
    func rotation() async throws {
        let dir = TestPaths.temporaryDirectory("chaos-rotation")
        defer { TestPaths.remove(dir) }
        try await exclusively { try await withSimulator({ config in
            config.sessionLimit = Self.limit
            config.revokeRefreshToken = true
            config.accessTokenLifespan = 2
        }) { simulator in
            let fleet = WorkerFleet(simulator: simulator, registryPath: dir + "/registry.sqlite")
            let driver = ChaosDriver(
                fleet: fleet, directory: dir, count: 16, duration: 7, killUntil: 0, killDelay: 1...1, seed: 1,
                arguments: ["--protected-url", fleet.protectedURL, "--hold-ms", "5", "--min-validity", "1", "--wait", "20"])
            let results = try await driver.run()
            let stats = simulator.statistics()
            ChaosFigures.print("""
                chaos rotation: 16 processes, 7 s, \(stats.refreshes) refreshes, \(stats.reuseDetections) reuse detections, \
                \(stats.refreshErrors.values.reduce(0, +)) refresh errors, \(stats.concurrentRefreshes) concurrent refreshes, \
                \(stats.logins) logins, max sessions \(stats.highWaterMark["alice"] ?? 0); \
                \(results.map(\.callsOK).reduce(0, +)) calls ok, \(results.map(\.callsFailed).reduce(0, +)) failed, \
                slowest token \(ChaosFigures.seconds(results.flatMap(\.tokenLatencies).max())), run took \
                \(ChaosFigures.seconds(driver.elapsed))
                """)
            #expect(stats.refreshes > 20, "the run should refresh sessions")
            #expect(stats.reuseDetections == 0)
            #expect(stats.refreshErrors.isEmpty, "refresh errors: \(stats.refreshErrors)")
            #expect(stats.concurrentRefreshes == 0)
            #expect(stats.deadTokenRequests == 0)
            #expect((stats.highWaterMark["alice"] ?? 0) <= Self.limit)
            for result in results {
                #expect(result.status == 0)
                #expect(result.callsFailed == 0, "worker errors: \(result.errors)")
            }
            try await expectRegistryMatchesIAM(fleet, simulator, directory: dir)
        } }
    }

    // MARK: - A locked registry

    @Test("registry locked by another process past the busy timeout: one line, exit 75, no hang")
    func lockedRegistry() async throws {
        try await withCLI("chaos-locked") { _, cli in
            let registry = cli.directory + "/registry.sqlite"
            #expect(try await cli.run(["token"]).status == 0)
            let timeout = 1.0
            let env = ["OCP_SESSIONS_BUSY_TIMEOUT": String(timeout)]

            func expectBusy(_ arguments: [String]) async throws {
                let started = Date()
                let result = try await cli.run(arguments, env: env)
                let took = Date().timeIntervalSince(started)
                #expect(result.status == 75, "\(arguments): \(result.stderr)")
                #expect(result.stderr.hasPrefix("ocp-sessions: the registry \(registry) stayed locked"), "\(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1)
                #expect(result.stdout.isEmpty)
                // It waited for the timeout, then gave up: no hang (a generous margin for process start).
                #expect(took >= timeout * 0.9 && took < timeout + 10, "took \(took) s")
            }

            // A writer holds the lock: commands that write give up; readers are not blocked (WAL).
            do {
                let writer = try Database(path: registry, create: false, busyTimeout: 5)
                try writer.execute("BEGIN EXCLUSIVE")
                try await expectBusy(["token"])
                let list = try await cli.run(["list"], env: env)
                #expect(list.status == 0, "list under a write lock: \(list.stderr)")
                try writer.execute("ROLLBACK")
            }  // closed here: exclusive locking mode below needs the file to itself

            // Exclusive locking mode: not even a reader gets in.
            do {
                let hog = try Database(path: registry, create: false, busyTimeout: 5)
                try hog.execute("PRAGMA locking_mode=EXCLUSIVE")
                try hog.execute("BEGIN EXCLUSIVE")
                try await expectBusy(["token"])
                try await expectBusy(["list"])
                try hog.execute("ROLLBACK")
            }

            // Once released, the same command works; a bad timeout is a usage error.
            #expect(try await cli.run(["token"], env: env).status == 0)
            let bad = try await cli.run(["list"], env: ["OCP_SESSIONS_BUSY_TIMEOUT": "soon"])
            #expect(bad.status == 64)
            #expect(bad.stderr.contains("OCP_SESSIONS_BUSY_TIMEOUT"))
            ChaosFigures.print("chaos locked registry: busy timeout \(timeout) s; token and list exit 75 with one line")
        }
    }
}
