import ArgumentParser
import Foundation

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ocp-bench",
        abstract: "How fast a token reaches a caller, beside a login per call, oidc-agent and the floors (issue 6).",
        discussion: """
            Everything runs on 127.0.0.1 against the in-process Keycloak simulator, in a private
            temporary directory; every child process and server stops by itself. Build in release
            mode, with ocp-sessions beside this binary:
              swift build -c release --product ocp-sessions && swift build -c release --product ocp-bench
              .build/release/ocp-bench
            """,
        subcommands: [RunCommand.self, WorkerCommand.self],
        defaultSubcommand: RunCommand.self
    )
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the benchmark (the default).")

    @Option(name: .customLong("login-cost"), help: "Seconds of simulated password hashing per login.")
    var loginCost: Double = 0.05
    @Option(help: "Warm-path cycles in one process (default 10000; --quick 500).")
    var cycles: Int?
    @Option(help: "Runs per CLI workload, all callers together (default 200; --quick 24).")
    var runs: Int?
    @Flag(help: "Print the figures as JSON instead of a table.")
    var json = false
    @Option(name: .customLong("json-out"), help: "Also write the JSON to this file (the table still prints).")
    var jsonOut: String?
    @Flag(help: "Small counts, for a smoke run.")
    var quick = false
    @Option(name: .customLong("ocp-sessions"), help: "The ocp-sessions binary (default: beside this one).")
    var ocpSessions: String?
    @Option(help: ArgumentHelp(
        "A PostgreSQL server for the backend rows: postgres://USER@HOST:PORT/DB (password in PGPASSWORD or ~/.pgpass).",
        discussion: "A scratch database is created there and dropped at the end; without it those rows read \"not measured\"."))
    var postgres: String?

    func validate() throws {
        guard loginCost.isFinite, (0...10).contains(loginCost) else { throw ValidationError("--login-cost must be within 0...10 s") }
        if let cycles, cycles < 1 { throw ValidationError("--cycles must be at least 1") }
        if let runs, runs < 8 { throw ValidationError("--runs must be at least 8") }
    }

    func run() async throws {
        let settings = BenchSettings(
            loginCost: loginCost, cycles: cycles, runs: runs, quick: quick, ocpSessions: ocpSessions,
            postgres: postgres ?? ProcessInfo.processInfo.environment["OCP_BENCH_POSTGRES"])
        let bench = try await Bench.start(settings)
        do {
            try await bench.runAll()
        } catch {
            bench.notice("the run stopped early: \(error)")
        }
        // Even after an early stop: our sessions are revoked and what was measured is summarized.
        bench.countSessionsAlive()
        bench.summarize()
        bench.report.settings.loadAverageAtEnd = Bench.loadAverage()
        await bench.stop()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let encoded = try encoder.encode(bench.report)
        if let jsonOut { try encoded.write(to: URL(fileURLWithPath: jsonOut)) }
        if json {
            print(String(decoding: encoded, as: UTF8.self))
        } else {
            print(ReportTable.render(bench.report))
        }
    }
}

extension Bench {
    /// Every phase, in an order that keeps each one's IAM counters apart.
    func runAll() async throws {
        let hello = buildStaticHello()
        try await prewarm()
        try measureSQLiteFloor()
        await measureProcessFloors(helloPath: hello)
        try await measureWarmPath()
        await measureProcesses()
        await measureCLI()
        await measureLoginPerCall()
        await measureCurlLogin()
        await measureOIDCAgent()
        try await measureAgeing()
        await measureBackends()
    }
}
