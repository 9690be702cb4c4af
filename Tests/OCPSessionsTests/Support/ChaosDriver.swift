import Foundation
import OCPSessions

/// One SIGKILL of a chaos run, and how long the killed process's rows took to go.
struct KillRecord {
    var pid: Int32
    /// Seconds after the run started.
    var at: Double
    var phase: KillPhase
    /// Lease and login ids the process owned when it died.
    var leases: Set<String>
    var logins: Set<String>
    /// Seconds from the kill until none of its leases was left (another process reclaimed them).
    var leasesBackAfter: Double?
    /// Seconds from the kill until none of its login reservations was left (settled).
    var loginsSettledAfter: Double?
    /// Sessions whose logout it had claimed when it died.
    var logouts: Set<String> = []
    /// Seconds from the kill until none of those sessions was still claimed by it.
    var logoutsBackAfter: Double?
}

/// Runs `count` worker processes for `duration` seconds and, until `killUntil`, SIGKILLs one after
/// each random delay in `killDelay` and starts a new one in its place: any worker, or one that owns
/// a lease or login, or (every third kill, if one shows up in time) one mid-login or mid-refresh. Delays and
/// victims come from a generator seeded with `seed`, so a failing schedule can be replayed (the
/// processes' own timing still varies). The registry is watched with plain reads to measure how
/// long each killed process's leases and logins stay.
final class ChaosDriver {
    let fleet: WorkerFleet
    let directory: String
    let count: Int
    let duration: Double
    let killUntil: Double
    let killDelay: ClosedRange<Double>
    /// Worker arguments, apart from `--duration`.
    let arguments: [String]
    private var rng: SchedulerRNG
    private(set) var kills: [KillRecord] = []
    private var workers: [(process: Process, output: String)] = []
    private var database: Database?
    private let startedAt = ProcessInfo.processInfo.systemUptime

    init(fleet: WorkerFleet, directory: String, count: Int, duration: Double, killUntil: Double,
         killDelay: ClosedRange<Double>, seed: UInt64, arguments: [String]) {
        self.fleet = fleet
        self.directory = directory
        self.count = count
        self.duration = duration
        self.killUntil = killUntil
        self.killDelay = killDelay
        self.arguments = arguments
        rng = SchedulerRNG(seed: seed)
    }

    deinit { stopAll() }

    var elapsed: Double { ProcessInfo.processInfo.systemUptime - startedAt }

    /// Runs the schedule, waits for the last workers to finish, and returns their summaries (killed
    /// processes print none). Throws if a worker is still running `grace` seconds after the end.
    func run(grace: Double = 30) async throws -> [WorkerResult] {
        for _ in 0..<count { workers.append(try startWorker()) }
        var nextKill = Double.random(in: killDelay, using: &rng)
        var killIndex = 0
        while elapsed < duration {
            if elapsed >= nextKill && elapsed < killUntil {
                killIndex += 1
                // Logins and refreshes last milliseconds: every third kill hunts for one in flight,
                // a login (rarer) one time, a refresh the next.
                if killIndex % 3 == 0 { try await huntMidRequest(login: killIndex % 6 == 0, for: killIndex % 6 == 0 ? 1 : 0.5) }
                try killOne()
                nextKill = elapsed + Double.random(in: killDelay, using: &rng)
            }
            track()
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        while workers.contains(where: { $0.process.isRunning }) {
            guard elapsed < duration + grace else {
                stopAll()
                throw ChaosError("workers still running \(Int(grace))s after the end of the run")
            }
            track()
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        track()
        return workers.map { worker in
            let output = FileManager.default.contents(atPath: worker.output) ?? Data()
            return WorkerResult(status: worker.process.terminationStatus, output: output)
        }
    }

    /// Kills every worker still running (a failed test must not leave processes behind).
    func stopAll() {
        for worker in workers where worker.process.isRunning {
            kill(worker.process.processIdentifier, SIGKILL)
            worker.process.waitUntilExit()
        }
    }

    private func startWorker() throws -> (process: Process, output: String) {
        let output = "\(directory)/worker-\(UUID().uuidString.prefix(8)).json"
        let remaining = max(1, duration - elapsed)
        let process = try fleet.start(["worker", "--cycles", "0", "--duration", String(format: "%.2f", remaining)] + arguments,
                                      stdoutPath: output)
        return (process, output)
    }

    /// Waits up to `seconds` for a worker with a login (or a refresh) in flight, so that the next
    /// kill's targeted pick (`killOne`) lands on it.
    private func huntMidRequest(login: Bool, for seconds: Double) async throws {
        let until = elapsed + seconds
        while elapsed < until {
            if let holders = readHolders(),
               login ? !holders.logins.isEmpty : holders.leases.contains(where: { holders.refreshing.contains($0.id) }) {
                huntedPhase = true
                return
            }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
    }

    /// Set by a successful hunt: the next kill picks a worker mid-login or mid-refresh.
    private var huntedPhase = false

    /// Kills a worker, records what it held (the registry just before the kill merged with just
    /// after, so a lease reclaimed within that millisecond still counts) and restarts it. Every
    /// other kill picks among the workers that own a lease or a login reservation, if any: most
    /// workers wait at the limit, and kills should land mid-use, mid-refresh and mid-login too.
    private func killOne() throws {
        let before = readHolders()
        var busy = Set((before?.leases ?? []).map(\.pid) + (before?.logins ?? []).map(\.pid))
        if huntedPhase, let before {
            let midRequest = Set(before.logins.map(\.pid)
                + before.leases.filter { before.refreshing.contains($0.id) }.map(\.pid))
            if !midRequest.isEmpty { busy = midRequest }
        }
        let candidates = workers.indices.filter { busy.contains(Int(workers[$0].process.processIdentifier)) }
        let targeted = (huntedPhase || Bool.random(using: &rng)) && !candidates.isEmpty
        huntedPhase = false
        let index = targeted ? candidates[Int.random(in: 0..<candidates.count, using: &rng)]
            : Int.random(in: 0..<workers.count, using: &rng)
        let victim = workers[index].process
        let pid = Int(victim.processIdentifier)
        kill(victim.processIdentifier, SIGKILL)
        let at = elapsed
        let after = readHolders()
        victim.waitUntilExit()
        var merged = RegistryHolders()
        for holders in [before, after].compactMap({ $0 }) {
            merged.leases += holders.leases.filter { $0.pid == pid }
            merged.logins += holders.logins.filter { $0.pid == pid }
            merged.waiters += holders.waiters.filter { $0.pid == pid }
            merged.loggingOut += holders.loggingOut.filter { $0.pid == pid }
            merged.refreshing.formUnion(holders.refreshing)
        }
        kills.append(KillRecord(
            pid: victim.processIdentifier, at: at, phase: merged.phase(of: pid),
            leases: Set(merged.leases.map(\.id)), logins: Set(merged.logins.map(\.id)),
            logouts: Set(merged.loggingOut.map(\.id))))
        workers[index] = try startWorker()
    }

    /// Marks the kills whose leases or logins are gone from the registry now.
    private func track() {
        guard kills.contains(where: { $0.pendingLeases || $0.pendingLogins || $0.pendingLogouts }),
              let holders = readHolders()
        else { return }
        let now = elapsed
        let leases = Set(holders.leases.map(\.id)), logins = Set(holders.logins.map(\.id))
        for index in kills.indices {
            let stillClaimed = holders.loggingOut.filter { $0.pid == Int(kills[index].pid) }.map(\.id)
            if kills[index].pendingLogouts && kills[index].logouts.isDisjoint(with: stillClaimed) {
                kills[index].logoutsBackAfter = now - kills[index].at
            }
            if kills[index].pendingLeases && kills[index].leases.isDisjoint(with: leases) {
                kills[index].leasesBackAfter = now - kills[index].at
            }
            if kills[index].pendingLogins && kills[index].logins.isDisjoint(with: logins) {
                kills[index].loginsSettledAfter = now - kills[index].at
            }
        }
    }

    /// Marks the kills whose logins are not among `logins` (read after the run's `prune`) settled now.
    func settleLogins(presentNow logins: Set<String>) {
        let now = elapsed
        for index in kills.indices where kills[index].pendingLogins && kills[index].logins.isDisjoint(with: logins) {
            kills[index].loginsSettledAfter = now - kills[index].at
        }
    }

    private func readHolders() -> RegistryHolders? {
        if database == nil, FileManager.default.fileExists(atPath: fleet.registryPath) {
            database = try? Database(path: fleet.registryPath, create: false, busyTimeout: 5)
        }
        guard let database else { return nil }
        return try? RegistryHolders.read(database)
    }
}

extension KillRecord {
    var pendingLeases: Bool { !leases.isEmpty && leasesBackAfter == nil }
    var pendingLogins: Bool { !logins.isEmpty && loginsSettledAfter == nil }
    var pendingLogouts: Bool { !logouts.isEmpty && logoutsBackAfter == nil }
}

struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
