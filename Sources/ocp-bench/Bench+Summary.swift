import Foundation

/// Phase 5's sessions left alive, our ratios to every baseline and floor, and issue 6's targets.
extension Bench {
    /// Counts each tool's sessions at the IAM, then cleans up what each tool can: `revoke --all` for
    /// ours; the login-per-call baseline has no way to, and oidc-agent (already stopped) never logs out.
    /// Online and offline sessions (oidc-gen asks for `offline_access`; Keycloak keeps those in its
    /// database and its limiter does not count them, but they are alive all the same).
    func sessionsAlive(_ user: BenchUser) -> Int {
        simulator.liveSessions(username: user.rawValue).count + simulator.offlineSessions(username: user.rawValue).count
    }

    func countSessionsAlive() {
        let atEnd = Dictionary(uniqueKeysWithValues: BenchUser.allCases.map { ($0.rawValue, sessionsAlive($0)) })
        var cleanups: [BenchUser: String] = [
            .loginPerCall: "none possible (no logout)", .oidcAgent: "agent killed (it never logs out)",
        ]
        if access(settings.ocpSessions, X_OK) == 0 {
            progress("ocp-sessions revoke --all --force on every registry")
            var failed: [String] = []
            let aged = settings.ageingLevels.map { (BenchUser.ageing, "\(directory)/aged-\($0).sqlite") }
            for (user, registry) in [(BenchUser.ours, registryPath), (BenchUser.roomy, registryPath)] + aged {
                let result = Spawn.run(settings.ocpSessions, ["revoke", "--all", "--force"],
                                       environment: cliEnvironment(user, registry: registry), timeout: 60)
                if !result.succeeded { failed.append("\(registry): exit \(result.status) \(result.stdout.prefix(200))") }
            }
            for (location, extra, user) in backendRegistries {
                let env = cliEnvironment(user, registry: location).merging(extra) { $1 }
                let result = Spawn.run(settings.ocpSessions, ["revoke", "--all", "--force"], environment: env, timeout: 60)
                if !result.succeeded { failed.append("\(location): exit \(result.status) \(result.stdout.prefix(200))") }
            }
            if !failed.isEmpty { notice("revoke --all failed: \(failed.joined(separator: "; "))") }
            cleanups[.ours] = "ocp-sessions revoke --all --force"
            cleanups[.ageing] = "ocp-sessions revoke --all --force"
            cleanups[.roomy] = "ocp-sessions revoke --all --force"
            for user in [BenchUser.sqliteBackend, .sqliteWakeUp, .postgresBackend, .postgresWakeUp] {
                cleanups[user] = "ocp-sessions revoke --all --force"
            }
        }
        let after = Dictionary(uniqueKeysWithValues: BenchUser.allCases.map { ($0.rawValue, sessionsAlive($0)) })
        let who: [BenchUser: String] = [
            .ours: "ocp-sessions", .ageing: "ocp-sessions (ageing registries)", .loginPerCall: "password login per call",
            .oidcAgent: "oidc-agent", .roomy: "ocp-sessions (limit 16 diagnostic)",
            .sqliteBackend: "ocp-sessions (backend rows, SQLite)", .sqliteWakeUp: "ocp-sessions (wake-up rows, SQLite)",
            .postgresBackend: "ocp-sessions (backend rows, PostgreSQL)", .postgresWakeUp: "ocp-sessions (wake-up rows, PostgreSQL)",
        ]
        for user in BenchUser.allCases {
            // oidc-agent's cleanup (stopping it) happened when its phase ended: count from before that.
            let before = user == .oidcAgent ? oidcSessionsBeforeStop ?? atEnd[user.rawValue, default: 0] : atEnd[user.rawValue, default: 0]
            report.sessionsAlive.append(BenchReport.SessionsAlive(
                who: who[user] ?? user.rawValue, user: user.rawValue, atEnd: before,
                afterCleanup: after[user.rawValue, default: 0], cleanup: cleanups[user] ?? "none"))
        }
    }

    func measurement(_ list: [BenchReport.Measurement], _ name: String, callers: Int) -> BenchReport.Measurement? {
        list.first { $0.name == name && $0.callers == callers && $0.failures < $0.latency.count }
    }

    func summarize() {
        let cached1 = measurement(report.cli, "ocp-sessions token", callers: 1)
        let cached8 = measurement(report.cli, "ocp-sessions token", callers: 8)
        let forced1 = measurement(report.cli, "ocp-sessions token --force-refresh", callers: 1)
        let forced8 = measurement(report.cli, "ocp-sessions token --force-refresh", callers: 8)
        let login1 = measurement(report.baselines, "password login per call (HTTP, in process)", callers: 1)
        let curl1 = measurement(report.baselines, "password login per call (curl)", callers: 1)
        let oidcCached1 = measurement(report.baselines, "oidc-token (cached)", callers: 1)
        let oidcCached8 = measurement(report.baselines, "oidc-token (cached)", callers: 8)
        let oidcForced1 = measurement(report.baselines, "oidc-token --time=600 (forced refresh)", callers: 1)
        let oidcForced8 = measurement(report.baselines, "oidc-token --time=600 (forced refresh)", callers: 8)
        let sqlite = measurement(report.floors, "empty BEGIN IMMEDIATE; COMMIT; (same file)", callers: 1)
        let hello1 = measurement(report.floors, "static Swift hello", callers: 1)
        let true1 = measurement(report.floors, "true", callers: 1)

        func ratio(_ what: String, _ ours: Double?, _ theirs: Double?) {
            guard let ours, let theirs, theirs > 0 else { return }
            report.ratios.append(BenchReport.Ratio(what: what, oursMs: ours, theirsMs: theirs, ratio: ours / theirs))
        }
        let warm = report.warmPath?.p50Ms
        ratio("warm acquire+release p50 / empty BEGIN IMMEDIATE;COMMIT p50", warm, sqlite?.latency.p50Ms)
        ratio("warm acquire+release p50 / password login (HTTP) p50", warm, login1?.latency.p50Ms)
        ratio("token (cached) p50 / static Swift hello p50", cached1?.latency.p50Ms, hello1?.latency.p50Ms)
        ratio("token (cached) p50 / true p50", cached1?.latency.p50Ms, true1?.latency.p50Ms)
        ratio("token (cached) p50 / oidc-token (cached) p50", cached1?.latency.p50Ms, oidcCached1?.latency.p50Ms)
        ratio("token (cached) p50 / password login (curl) p50", cached1?.latency.p50Ms, curl1?.latency.p50Ms)
        ratio("token --force-refresh p50 / oidc-token --time=600 p50", forced1?.latency.p50Ms, oidcForced1?.latency.p50Ms)
        ratio("token --force-refresh p50 / password login (curl) p50", forced1?.latency.p50Ms, curl1?.latency.p50Ms)
        // Rates: below 1 means fewer calls per second than theirs, so invert to keep "below 1 = we are better".
        if let ours = cached8?.perSecond, let theirs = oidcCached8?.perSecond, ours > 0 {
            report.ratios.append(BenchReport.Ratio(
                what: "8 callers, cached: ms per call in aggregate (1000/rate), ours / oidc-token",
                oursMs: 1000 / ours, theirsMs: 1000 / theirs, ratio: theirs / ours))
        }
        if let ours = forced8?.perSecond, let theirs = oidcForced8?.perSecond, ours > 0 {
            report.ratios.append(BenchReport.Ratio(
                what: "8 callers, forced refresh: ms per call in aggregate (1000/rate), ours / oidc-token",
                oursMs: 1000 / ours, theirsMs: 1000 / theirs, ratio: theirs / ours))
        }
        targets(warm: warm, login1: login1, cached1: cached1, hello1: hello1, forced1: forced1, forced8: forced8,
                oidcForced1: oidcForced1, oidcForced8: oidcForced8)
    }

    private func targets(
        warm: Double?, login1: BenchReport.Measurement?, cached1: BenchReport.Measurement?, hello1: BenchReport.Measurement?,
        forced1: BenchReport.Measurement?, forced8: BenchReport.Measurement?, oidcForced1: BenchReport.Measurement?,
        oidcForced8: BenchReport.Measurement?
    ) {
        func add(_ target: String, _ measured: String, _ met: Bool?) {
            report.targets.append(BenchReport.Target(target: target, measured: measured, met: met))
        }
        func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
        if let warm {
            add("warm acquire+release p50 < 0.3 ms (1 process)", ms(warm), warm < 0.3)
        }
        if let warm, let login = login1?.latency.p50Ms {
            let speedup = login / warm
            let note = settings.loginCost == 0.05 ? "" : " (login cost \(settings.loginCost) s, target assumes 0.05 s)"
            add("warm path >= 50x faster than a password login per call", String(format: "%.0fx%@", speedup, note), speedup >= 50)
        }
        if let row = report.processes.first(where: { $0.processes == 8 && $0.maxSessions == 5 }) {
            add(">= 3,000 warm cycles/s with 8 processes", String(format: "%.0f cycles/s", row.cyclesPerSecond),
                row.cyclesPerSecond >= 3_000)
        }
        if let ours = cached1?.latency.p50Ms {
            if let floor = hello1?.latency.p50Ms {
                add("token (cached) p50 <= 1.5 x static Swift hello p50",
                    String(format: "%.2f ms vs %.2f ms = %.2fx", ours, floor, ours / floor), ours <= 1.5 * floor)
            } else {
                add("token (cached) p50 <= 1.5 x static Swift hello p50", "static Swift floor not measured", nil)
            }
        }
        if let ours = forced1, let theirs = oidcForced1 {
            add("forced refresh faster than oidc-agent, 1 caller (p50)",
                String(format: "%.2f ms vs %.2f ms", ours.latency.p50Ms, theirs.latency.p50Ms),
                ours.latency.p50Ms < theirs.latency.p50Ms)
        } else {
            add("forced refresh faster than oidc-agent, 1 caller (p50)", "oidc-agent not measured", nil)
        }
        if let ours = forced8, let theirs = oidcForced8 {
            add("forced refresh faster than oidc-agent, 8 callers (aggregate calls/s)",
                String(format: "%.0f/s vs %.0f/s", ours.perSecond, theirs.perSecond), ours.perSecond > theirs.perSecond)
        } else {
            add("forced refresh faster than oidc-agent, 8 callers (aggregate calls/s)", "oidc-agent not measured", nil)
        }
        // Steady state: every workload of ours but forced refreshes, and but the limit-16 row, whose
        // processes fill their empty pool (up to 8 logins) before the measurement starts.
        let steady = report.iamLoad.filter {
            $0.workload.hasPrefix("ocp-sessions") && !$0.workload.contains("force-refresh") && !$0.workload.contains("limit 16")
        }
        let tokens = steady.reduce(0) { $0 + $1.tokens }, logins = steady.reduce(0) { $0 + $1.logins }
        if tokens > 0 {
            let rate = Double(logins) * 1000 / Double(tokens)
            add("<= 0.01 logins per 1,000 tokens in steady state",
                String(format: "%d logins / %d tokens = %.4f per 1,000", logins, tokens, rate), rate <= 0.01)
        }
        let ours = report.sessionsAlive.filter { [BenchUser.ours, .ageing, .roomy].map(\.rawValue).contains($0.user) }
        if !ours.isEmpty, ours.allSatisfy({ $0.afterCleanup != nil }) {
            let left = ours.reduce(0) { $0 + ($1.afterCleanup ?? 0) }
            add("no sessions alive after revoke --all", "\(left) left (of \(ours.reduce(0) { $0 + $1.atEnd }))", left == 0)
        }
    }
}
