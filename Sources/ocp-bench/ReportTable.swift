import Foundation

/// The human-readable rendering of a `BenchReport`.
enum ReportTable {
    static func render(_ report: BenchReport) -> String {
        var out: [String] = []
        let s = report.settings
        out.append("ocp-bench: login cost \(s.loginCostSeconds) s, \(s.cycles) cycles, \(s.runs) runs, \(s.cores) cores\(s.quick ? ", QUICK" : "")")
        out.append("ocp-sessions: \(s.ocpSessions) (\(s.ocpSessionsStatic ? "static Swift stdlib" : "dynamic Swift stdlib"))")
        out.append("load average (1, 5, 15 min): \(s.loadAverageAtStart) at start, \(s.loadAverageAtEnd) at end")
        out.append("")
        var rows: [[String]] = []
        if let warm = report.warmPath { rows.append(latencyRow("1. warm acquire+release, 1 process", 1, warm, 0)) }
        for row in report.processes {
            var cells = latencyRow("2. warm, \(row.processes) processes, limit \(row.maxSessions) (wait = acquire)", row.processes, row.wait, row.failures)
            cells[6] = String(format: "%.0f", row.cyclesPerSecond)
            cells.append("busy retries \(row.busyRetries)")
            rows.append(cells)
        }
        for m in report.cli { rows.append(latencyRow("3. \(m.name)", m.callers, m.latency, m.failures)) }
        for m in report.baselines { rows.append(latencyRow("4. \(m.name)", m.callers, m.latency, m.failures)) }
        for m in report.floors { rows.append(latencyRow("4c. floor: \(m.name)", m.callers, m.latency, m.failures)) }
        for a in report.ageing {
            var cells = latencyRow("6. warm, \(a.historySessions) sessions' history", 1, a.latency, 0)
            cells.append("events \(a.eventsBefore) -> \(a.eventsAfter)")
            rows.append(cells)
        }
        out.append(table(["workload", "callers", "n", "p50 ms", "p99 ms", "max ms", "per s", "failed", "note"], rows))
        out.append("")
        out.append("Ratios (ours / theirs; below 1: ours is faster)")
        out.append(table(["comparison", "ours ms", "theirs ms", "ratio"], report.ratios.map {
            [$0.what, f3($0.oursMs), f3($0.theirsMs), String(format: "%.3f", $0.ratio)]
        }))
        out.append("")
        out.append("5. IAM load per 1,000 tokens")
        out.append(table(["workload", "tokens", "logins", "refreshes", "logouts", "logins/1k", "refreshes/1k", "logouts/1k"],
                         report.iamLoad.map {
            [$0.workload, "\($0.tokens)", "\($0.logins)", "\($0.refreshes)", "\($0.logouts)", f3($0.per1000($0.logins)),
             f3($0.per1000($0.refreshes)), f3($0.per1000($0.logouts))]
        }))
        out.append("")
        out.append("5. Sessions alive at the IAM at the end")
        out.append(table(["tool", "user", "at end", "after cleanup", "cleanup"], report.sessionsAlive.map {
            [$0.who, $0.user, "\($0.atEnd)", $0.afterCleanup.map(String.init) ?? "-", $0.cleanup]
        }))
        out.append("")
        if !report.backends.isEmpty {
            out.append("7. Registry backends (issue 7): warm acquire+release in 1 process, 8 processes on 5 sessions, a waiter's wake-up")
            out.append(table(["backend", "warm p50 ms", "warm p99 ms", "warm per s", "8 processes cycles/s", "8 p50 wait ms",
                              "wake-up p50 ms", "wake-up p99 ms", "wake-ups"], report.backends.map { b in
                [b.backend, f3(b.warm.p50Ms), f3(b.warm.p99Ms), String(format: "%.0f", b.warm.perSecond),
                 b.processes.map { String(format: "%.0f", $0.cyclesPerSecond) } ?? "-", b.processes.map { f3($0.wait.p50Ms) } ?? "-",
                 f3(b.wakeUp.p50Ms), f3(b.wakeUp.p99Ms), "\(b.wakeUp.count)"]
            }))
            out.append("")
        }
        out.append("Event retention: \(s.retention)")
        out.append("Busy retries: times a connection found the registry write-locked by another process and slept (SQLiteRegistry.busyRetries).")
        out.append("")
        out.append("Targets (issue 6)")
        out.append(table(["target", "measured", "met"], report.targets.map {
            [$0.target, $0.measured, $0.met.map { $0 ? "yes" : "NO" } ?? "not measured"]
        }))
        if !report.notices.isEmpty {
            out.append("")
            out.append("Notices")
            out.append(contentsOf: report.notices.map { "- \($0)" })
        }
        return out.joined(separator: "\n")
    }

    static func latencyRow(_ name: String, _ callers: Int, _ l: Latency, _ failures: Int) -> [String] {
        [name, "\(callers)", "\(l.count)", f3(l.p50Ms), f3(l.p99Ms), f3(l.maxMs), String(format: "%.0f", l.perSecond), "\(failures)"]
    }

    static func f3(_ value: Double) -> String {
        value >= 100 ? String(format: "%.1f", value) : String(format: "%.3f", value)
    }

    /// Left-aligned first column, the others right-aligned; rows may be shorter or longer than the header.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 || i == columns - 1 && header.count < columns ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
