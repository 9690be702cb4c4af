import Foundation

/// Phase 2: 1, 2, 4, 8 and 16 OS processes (this binary's hidden `worker`) on one registry.
extension Bench {
    func measureProcesses() async {
        for count in settings.processCounts {
            await measureProcesses(count, user: .ours, maxSessions: 5, label: "")
        }
        // Diagnostic: the same 8 processes with a limit above their number and a session each
        // already there, so no caller waits for a session: what the registry alone sustains.
        do {
            try await prewarm(.roomy, sessions: 8)
        } catch {
            notice("could not fill the limit-16 pool: \(error)")
        }
        await measureProcesses(8, user: .roomy, maxSessions: 16, label: ", limit 16 (no wait for a session)")
    }

    private func measureProcesses(_ count: Int, user: BenchUser, maxSessions: Int, label: String) async {
        report.processes.append(await processRow(count, user: user, maxSessions: maxSessions, label: label))
    }

    /// `count` worker processes on the registry at `location` (a path or a PostgreSQL URL; `extra`
    /// adds what that needs, such as the team key) for the configured duration.
    func processRow(
        _ count: Int, user: BenchUser, maxSessions: Int, label: String,
        location: String? = nil, extra: [String: String] = [:]
    ) async -> BenchReport.ProcessRow {
        let registryPath = location ?? self.registryPath
        let executable = Spawn.ownExecutable
        var env = baseEnvironment().merging(extra) { $1 }
        env["OCP_BENCH_PASSWORD"] = user.password
        progress("processes: \(count)\(label) x \(settings.processDuration) s")
        let duration = settings.processDuration
        // Long enough for every process to start and take its first lease on 2 cores.
        let startAt = Monotonic.now() + 0.4 + 0.06 * Double(count)
        let arguments = [
            "worker", "--registry", registryPath, "--host", simulator.baseURL, "--username", user.rawValue,
            "--start-at", String(startAt), "--duration", String(duration), "--max-sessions", String(maxSessions),
        ]
        let stderrBase = directory + "/worker-stderr"
        let environment = env
        var outputs: [WorkerOutput?] = []
        await countingIAM("ocp-sessions warm path, \(count) processes\(label)") {
            let results = await Threads.parallel(count) { index in
                Spawn.run(executable, arguments, environment: environment, timeout: duration + 60,
                          stderrPath: "\(stderrBase)-\(index)")
            }
            outputs = results.map { result in
                result.succeeded ? try? JSONDecoder().decode(WorkerOutput.self, from: Data(result.stdout.utf8)) : nil
            }
            return outputs.reduce(0) { $0 + ($1?.cycles ?? 0) }
        }
        let finished = outputs.compactMap { $0 }
        if finished.count < count {
            let stderr = (try? String(contentsOfFile: "\(stderrBase)-0", encoding: .utf8)) ?? ""
            notice("\(count - finished.count) of \(count) worker processes failed: \(stderr.prefix(300))")
        }
        let cycles = finished.reduce(0) { $0 + $1.cycles }
        let samples = finished.flatMap { $0.waitMicros.map { Double($0) / 1e6 } }
        return BenchReport.ProcessRow(
            processes: count, maxSessions: maxSessions, cyclesPerSecond: Double(cycles) / duration,
            wait: Latency(samples: samples, wall: duration), busyRetries: finished.reduce(0) { $0 + $1.busyRetries },
            failures: finished.reduce(0) { $0 + $1.failures } + (count - finished.count))
    }
}
