import Foundation

/// Timing programs as scripts run them: one caller after another, or `callers` at once.
extension Bench {
    /// Runs `path arguments` `runs` times in all, spread over `callers` concurrent callers, each call
    /// timed from spawn to exit. A call counts as failed when it exits non-zero or `accept` rejects
    /// its stdout. `tokens` is how many tokens the successful calls (warm-up included) handed out.
    func timeCommand(
        _ name: String, _ path: String, _ arguments: [String], environment: [String: String], callers: Int, runs: Int,
        warmup: Int = 3, accept: @escaping @Sendable (String) -> Bool = { _ in true }
    ) async -> (BenchReport.Measurement, tokens: Int) {
        // Warm-up calls (page cache, the IAM's first answer) are not timed but their tokens count.
        var warmTokens = 0
        for _ in 0..<warmup {
            let result = Spawn.run(path, arguments, environment: environment)
            if result.succeeded && accept(result.stdout) { warmTokens += 1 }
        }
        let perCaller = (runs + callers - 1) / callers
        let stderrBase = directory + "/stderr-\(name.filter(\.isLetter))"
        let start = Monotonic.now()
        let results = await Threads.parallel(callers) { caller in
            (0..<perCaller).map { _ in
                let result = Spawn.run(path, arguments, environment: environment, stderrPath: "\(stderrBase)-\(caller)")
                return (result.seconds, result.succeeded && accept(result.stdout))
            }
        }.flatMap { $0 }
        let wall = Monotonic.now() - start
        let failures = results.filter { !$0.1 }.count
        if failures > 0 {
            let stderr = (try? String(contentsOfFile: "\(stderrBase)-0", encoding: .utf8)) ?? ""
            notice("\(name), \(callers) caller(s): \(failures) of \(results.count) calls failed \(stderr.prefix(200))")
        }
        let measurement = BenchReport.Measurement(
            name: name, callers: callers, latency: Latency(samples: results.map(\.0), wall: wall), failures: failures)
        return (measurement, results.count - failures + warmTokens)
    }

    /// An access token on stdout (a JWT), nothing else.
    static let looksLikeToken: @Sendable (String) -> Bool = { output in
        output.hasPrefix("eyJ") && output.split(separator: "\n").count == 1
    }

    /// Phase 3: `ocp-sessions token`, cached and with `--force-refresh`, 1 and 8 callers.
    func measureCLI() async {
        let path = settings.ocpSessions
        guard access(path, X_OK) == 0 else {
            notice("no ocp-sessions binary at \(path): build it with `swift build -c release --product ocp-sessions` (CLI phase skipped)")
            return
        }
        for (name, arguments) in [("ocp-sessions token", ["token"]), ("ocp-sessions token --force-refresh", ["token", "--force-refresh"])] {
            for callers in [1, 8] {
                progress("\(name): \(settings.runs) runs, \(callers) caller(s)")
                await countingIAM("\(name), \(callers) caller(s)") {
                    let (measurement, tokens) = await timeCommand(
                        name, path, arguments, environment: cliEnvironment(), callers: callers, runs: settings.runs,
                        accept: Self.looksLikeToken)
                    report.cli.append(measurement)
                    return tokens
                }
            }
        }
    }

    /// The floors: `true` and a static Swift binary that prints one line, 1 and 8 callers.
    func measureProcessFloors(helloPath: String?) async {
        var floors: [(String, String)] = []
        if let truePath = Spawn.which("true") { floors.append(("true", truePath)) }
        if let helloPath { floors.append(("static Swift hello", helloPath)) }
        for (name, path) in floors {
            for callers in [1, 8] {
                progress("\(name): \(settings.runs) runs, \(callers) caller(s)")
                let (measurement, _) = await timeCommand(
                    name, path, [], environment: baseEnvironment(), callers: callers, runs: settings.runs)
                report.floors.append(measurement)
            }
        }
    }

    /// Builds a static Swift binary that prints one line, or says why not.
    func buildStaticHello() -> String? {
        guard let swiftc = Spawn.which("swiftc") else {
            notice("no swiftc on PATH: the static Swift floor is not measured")
            return nil
        }
        let source = directory + "/hello.swift", binary = directory + "/hello"
        _ = FileManager.default.createFile(atPath: source, contents: Data("print(\"hello\")\n".utf8))
        progress("building the static Swift floor (swiftc -O -static-stdlib)")
        var env = baseEnvironment()
        env["HOME"] = ProcessInfo.processInfo.environment["HOME"] ?? directory
        let result = Spawn.run(swiftc, ["-O", "-static-stdlib", source, "-o", binary], environment: env, timeout: 300,
                               stderrPath: directory + "/hello-build.log")
        guard result.succeeded, access(binary, X_OK) == 0 else {
            let log = (try? String(contentsOfFile: directory + "/hello-build.log", encoding: .utf8)) ?? ""
            notice("swiftc -static-stdlib failed (\(log.prefix(200))): the static Swift floor is not measured")
            return nil
        }
        return binary
    }
}
