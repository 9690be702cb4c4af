import Foundation
import KeycloakSimulator
import OCPSessions

/// Counts for one run: `--quick` shrinks every one of them for a smoke run.
struct BenchSettings: Sendable {
    var loginCost: Double
    var cycles: Int
    var runs: Int
    var quick: Bool
    var ocpSessions: String
    var processCounts: [Int]
    /// Seconds each multi-process configuration is measured for.
    var processDuration: Double
    var ageingLevels: [Int]
    var ageingCycles: Int
    /// A PostgreSQL server for phase 7 (a scratch database is made in it), or nil.
    var postgres: String?

    init(loginCost: Double, cycles: Int?, runs: Int?, quick: Bool, ocpSessions: String?, postgres: String? = nil) {
        self.postgres = postgres
        self.loginCost = loginCost
        self.quick = quick
        self.cycles = cycles ?? (quick ? 500 : 10_000)
        self.runs = runs ?? (quick ? 24 : 200)
        self.ocpSessions = ocpSessions
            ?? (URL(fileURLWithPath: Spawn.ownExecutable).deletingLastPathComponent().path + "/ocp-sessions")
        processCounts = [1, 2, 4, 8, 16]
        processDuration = quick ? 0.5 : 3
        ageingLevels = quick ? [1, 100, 1_000] : [1, 100, 10_000]
        ageingCycles = quick ? 300 : min(self.cycles, 5_000)
    }
}

/// The test users: one per tool, so the simulator's per-user session counts tell who left what.
enum BenchUser: String, CaseIterable {
    /// ocp-sessions (library, worker processes and CLI).
    case ours = "alice"
    /// A password login per call.
    case loginPerCall = "bob"
    /// oidc-agent.
    case oidcAgent = "carol"
    /// ocp-sessions on the aged registries.
    case ageing = "dave"
    /// ocp-sessions with a limit above the process count (phase 2's diagnostic row).
    case roomy = "erin"
    /// Phase 7 on SQLite: the warm path and processes, and the waiter wake-up (a limit-1 account).
    /// Each backend has its own users: the other backend's sessions would be foreign to it.
    case sqliteBackend = "frank"
    case sqliteWakeUp = "grace"
    /// Phase 7 on PostgreSQL.
    case postgresBackend = "heidi"
    case postgresWakeUp = "ivan"

    var password: String { rawValue + "-pass" }
}

/// One benchmark run: a private directory, the simulator, the registry, and the report being filled.
final class Bench {
    let settings: BenchSettings
    let directory: String
    let simulator: KeycloakSimulator
    let registryPath: String
    var report: BenchReport
    /// oidc-agent's sessions at the IAM just before the agent was stopped.
    var oidcSessionsBeforeStop: Int?
    /// Phase 7's registries and what the CLI needs to open them (their sessions are revoked at the end).
    var backendRegistries: [(location: String, environment: [String: String], user: BenchUser)] = []
    /// Run after the final revoke (the scratch PostgreSQL database).
    var pendingCleanup: [() -> Void] = []

    init(settings: BenchSettings, directory: String, simulator: KeycloakSimulator, report: BenchReport) {
        self.settings = settings
        self.directory = directory
        self.simulator = simulator
        self.registryPath = directory + "/registry.sqlite"
        self.report = report
    }

    /// A private directory and a simulator on 127.0.0.1 that stops by itself after an hour at most.
    static func start(_ settings: BenchSettings) async throws -> Bench {
        let directory = NSTemporaryDirectory() + "ocp-bench-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var configuration = SimulatorConfiguration()
        configuration.users = Dictionary(uniqueKeysWithValues: BenchUser.allCases.map { ($0.rawValue, $0.password) })
        configuration.loginCost = settings.loginCost
        // The limiter stays off so the login-per-call baseline can run at all; ocp-sessions keeps
        // to its own limit (5) on the client side, which is what is measured.
        configuration.sessionLimit = nil
        configuration.maximumLifetime = 3_600
        let simulator = try await KeycloakSimulator.start(configuration, host: "127.0.0.1", port: 0)
        let report = BenchReport(settings: BenchReport.Settings(
            loginCostSeconds: settings.loginCost, cycles: settings.cycles, runs: settings.runs, quick: settings.quick,
            cores: ProcessInfo.processInfo.activeProcessorCount, ocpSessions: settings.ocpSessions,
            ocpSessionsStatic: Self.isStatic(settings.ocpSessions),
            retention: "events: 30 days and 20,000 rows, trimmed every 256th insert; leases and logins are deleted when released or settled",
            loadAverageAtStart: loadAverage()))
        return Bench(settings: settings, directory: directory, simulator: simulator, report: report)
    }

    /// Stops the simulator and removes the directory.
    func stop() async {
        for cleanup in pendingCleanup { cleanup() }
        await simulator.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data("ocp-bench: \(line)\n".utf8))
    }

    func notice(_ line: String) {
        report.notices.append(line)
        progress("notice: \(line)")
    }

    // MARK: Accounts and environments

    func account(_ user: BenchUser) -> AccountConfiguration {
        AccountConfiguration(host: simulator.baseURL, username: user.rawValue, password: .constant(user.password))
    }

    /// A pool on `path` that ignores proxy variables (everything is on 127.0.0.1).
    func pool(registry path: String) throws -> (SQLiteRegistry, SessionPool) {
        let registry = try SQLiteRegistry(path: path, environment: [:])
        return (registry, SessionPool(registry: registry, connector: KeycloakConnector(environment: [:])))
    }

    /// The environment children get: nothing inherited but the basics (no proxies, no OCP_*).
    func baseEnvironment() -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
        env["HOME"] = inherited["HOME"] ?? directory
        env["TMPDIR"] = directory
        return env
    }

    /// What `ocp-sessions` needs for `user` on `registry`.
    func cliEnvironment(_ user: BenchUser = .ours, registry: String? = nil) -> [String: String] {
        var env = baseEnvironment()
        env["OCP_HOST"] = simulator.baseURL
        env["OCP_USERNAME"] = user.rawValue
        env["OCP_PASSWORD"] = user.password
        env["OCP_SESSIONS_REGISTRY"] = registry ?? registryPath
        env["OCP_SESSIONS_CONFIG"] = directory + "/no-config.toml"
        env["XDG_STATE_HOME"] = directory + "/state"
        env["XDG_CONFIG_HOME"] = directory + "/config"
        return env
    }

    var tokenURL: String { simulator.baseURL + "/auth/realms/master/protocol/openid-connect/token" }

    // MARK: IAM accounting

    /// Runs `body` (which returns how many tokens it handed out) and records the IAM requests it caused.
    @discardableResult
    func countingIAM(_ workload: String, _ body: () async throws -> Int) async rethrows -> BenchReport.IAMLoad {
        let before = simulator.statistics()
        let tokens = try await body()
        let after = simulator.statistics()
        let load = BenchReport.IAMLoad(
            workload: workload, tokens: tokens, logins: after.logins - before.logins,
            refreshes: after.refreshes - before.refreshes, logouts: after.logouts - before.logouts)
        report.iamLoad.append(load)
        return load
    }

    /// `/proc/loadavg`'s first three fields: other work on the machine skews every figure.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Whether a binary carries its own Swift runtime (no `libswiftCore.so` among its libraries).
    static func isStatic(_ path: String) -> Bool {
        guard let ldd = Spawn.which("ldd") else { return false }
        let result = Spawn.run(ldd, [path], environment: ["PATH": "/usr/bin:/bin"], timeout: 10)
        return result.status == 0 && !result.stdout.contains("libswiftCore")
    }
}
