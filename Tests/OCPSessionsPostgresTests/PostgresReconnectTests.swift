import Foundation
import Testing
import PostgresNIO
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// Connections that drop: the registry reconnects in the background under the same holder key,
/// a transaction cut mid-way is a busy error in one line, and nothing hangs (docs/postgres-design.md,
/// "Holder liveness").
extension PostgresRegistryTests {
    /// The backend pid of a registry's connection.
    func backend(of registry: PostgresRegistry) throws -> Int {
        try #require(try registry.withBridge { try $0.query("SELECT pg_backend_pid()").rows.first?.decode(Int.self) })
    }

    /// Ends a backend as an operator (or a dead network) would, from another connection.
    func terminate(_ pid: Int, from registry: PostgresRegistry) throws {
        let ended = try registry.withBridge { try $0.query("SELECT pg_terminate_backend(\(pid)::integer)").rows.first?.decode(Bool.self) }
        #expect(ended == true)
    }

    @Test("a cut connection: the holder reconnects in the background under the same key, alive again, the counter moved")
    func backgroundReconnect() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let holderHost = try open(settings)
        var strict = settings
        strict.restartGrace = 0
        let observer = try open(strict)
        let remote = remoteHolder
        let accountID = try holderHost.seedRemoteLogin(account)
        let key = holderHost.holderLock
        let counter = try #require(holderHost.changeCounter())
        let oldBackend = try backend(of: holderHost)
        func aliveSeenByObserver() throws -> Bool {
            _ = try observer.read { try $0.snapshot(accountID: accountID) }
            return observer.liveness.isAlive(remote)
        }
        #expect(try aliveSeenByObserver())
        let cut = Date()
        try terminate(oldBackend, from: observer)
        // Dead while its connection is gone (the reconnect waits about half a second, jittered)...
        var seenDead = false
        while !seenDead, Date().timeIntervalSince(cut) < 2 {
            seenDead = try !aliveSeenByObserver()
            if !seenDead { usleep(5_000) }
        }
        #expect(seenDead, "the cut holder never looked dead")
        // ...then alive again without any call of its own: the background reconnect took the same key.
        var alive = false
        while !alive, Date().timeIntervalSince(cut) < 5 {
            alive = try aliveSeenByObserver()
            if !alive { usleep(10_000) }
        }
        #expect(alive, "no background reconnect within 5 s of the cut")
        #expect(holderHost.holderLock == key)
        #expect(holderHost.changeCounter() != counter, "a reconnect counts as a change (notifications may be lost)")
        #expect(try backend(of: holderHost) != oldBackend)
        try holderHost.write { tx in try tx.deleteLogin(id: "g-r") }
        #expect(try observer.read { try $0.snapshot(accountID: accountID) }?.logins.isEmpty == true)
    }

    @Test("a transaction cut mid-way fails as busy in one line, at once; the next one reconnects and works")
    func cutMidTransaction() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try open(settings)
        let other = try open(settings)
        let accountID = try registry.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 1).id }
        let ownBackend = try backend(of: registry)
        let started = Date()
        let error = #expect(throws: RegistryError.self) {
            try registry.write { tx in
                try tx.insertLogin(LoginRecord(id: "g-cut", holder: holder, startedAt: 1, deadline: 2), accountID: accountID)
                try terminate(ownBackend, from: other)
                try tx.insertLogin(LoginRecord(id: "g-cut-2", holder: holder, startedAt: 1, deadline: 2), accountID: accountID)
            }
        }
        #expect(Date().timeIntervalSince(started) < 5, "the cut transaction hung")
        guard case .busy(let message) = error else {
            Issue.record("expected a busy error, got \(String(describing: error))")
            return
        }
        #expect(message.contains("lost during a transaction") && !message.contains("\n"), "\(message)")
        // Nothing of it was committed, and the next transaction reconnects before BEGIN.
        let logins = try registry.read { try $0.snapshot(accountID: accountID) }?.logins
        #expect(logins == [])
        try registry.write { tx in
            try tx.insertLogin(LoginRecord(id: "g-next", holder: holder, startedAt: 1, deadline: 2), accountID: accountID)
        }
        #expect(try other.read { try $0.snapshot(accountID: accountID) }?.logins.map(\.id) == ["g-next"])
    }

    @Test("a server that stops answering fails the statement after the busy timeout plus a grace, never hangs")
    func silentServer() async throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        var quick = settings
        quick.busyTimeout = 1
        let registry = try PostgresRegistry(settings: quick, environment: ["OCP_SESSIONS_KEY": key])
        let accountID = try registry.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 1).id }
        // SIGSTOP on the registry's backend: its socket stays open, nothing answers (a powered-off
        // host, or a network that drops everything). Root may signal the server's processes.
        let server = pid_t(try backend(of: registry))
        try #require(kill(server, SIGSTOP) == 0, "cannot stop the backend (run as root or as the server's user)")
        // Resumed, the backend finds its client gone and exits.
        defer { kill(server, SIGCONT) }
        let started = Date()
        // Seconds of waiting, off the cooperative pool.
        let outcome = await TestCluster.offPool { Result { try registry.write { tx in _ = try tx.snapshot(accountID: accountID) } } }
        let waited = Date().timeIntervalSince(started)
        #expect(throws: RegistryError.self) { try outcome.get() }
        // The deadline is busy timeout + grace (6 s); the bound is generous for a loaded machine.
        #expect(waited >= 1 && waited < 1 + PostgresConnectionBridge.statementGrace + 10, "waited \(waited) s")
        kill(server, SIGCONT)
        // The next transaction has a new connection.
        let snapshot = try registry.read { try $0.snapshot(accountID: accountID) }
        #expect(snapshot?.account.id == accountID)
    }

    @Test("a server restart under four registries writing in a loop: all recover, none hangs, every write accounted",
          .enabled(if: TestCluster.canRestart, "set OCP_SESSIONS_TEST_PGDATA and OCP_SESSIONS_TEST_PGBIN"))
    func restartUnderLoad() async throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registries = try (0..<4).map { _ in try open(settings) }
        let account = self.account
        let holder = self.holder
        let accountID = try registries[0].write { try $0.upsertAccount(account, limit: 1_000, reserve: 0, now: 1).id }
        let tallies = (0..<4).map { _ in WriterTally() }
        let restarted = RestartMoment()
        let group = DispatchGroup()
        for (index, registry) in registries.enumerated() {
            let tally = tallies[index]
            group.enter()
            // Threads of their own: they block, and Dispatch's pool may be full of other tests' work.
            Thread {
                defer { group.leave() }
                // Until 3 s after the restart, then done.
                var finishedAt: Date?
                var round = 0
                while finishedAt.map({ Date() < $0 }) ?? true {
                    if finishedAt == nil, let at = restarted.value { finishedAt = at.addingTimeInterval(3) }
                    round += 1
                    tally.record { $0.rounds = round }
                    let id = "g-\(index)-\(round)"
                    let afterRestart = restarted.value != nil
                    do {
                        try registry.write { tx in
                            _ = try tx.snapshot(accountID: accountID)
                            try tx.insertLogin(LoginRecord(id: id, holder: holder, startedAt: 1, deadline: 2), accountID: accountID)
                        }
                        tally.record {
                            $0.committed.append(id)
                            if afterRestart { $0.committedAfterRestart += 1 }
                        }
                    } catch let error as RegistryError {
                        if case .busy = error { tally.record { $0.busy += 1 } } else { tally.record { $0.other.append("\(error)") } }
                    } catch {
                        tally.record { $0.other.append("\(error)") }
                    }
                    usleep(2_000)
                }
                tally.record { $0.done = true }
            }.start()
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        try await TestCluster.restart()
        restarted.set(Date())
        let finished = await TestCluster.offPool { group.wait(timeout: .now() + 60) }
        #expect(finished == .success, "a registry hung after the restart: \(tallies.map { ($0.value.rounds, $0.value.done, $0.value.busy) })")
        guard finished == .success else { return }
        let results = tallies.map(\.value)
        for (index, result) in results.enumerated() {
            #expect(result.other.isEmpty, "registry \(index): \(result.other.prefix(3))")
            // Each one worked again after the restart, on a connection of its own making.
            #expect(result.committedAfterRestart > 0, "registry \(index) never committed after the restart")
        }
        // Every write reported committed is there; a busy one may or may not be (a lost COMMIT answer).
        let stored = Set(try registries[0].read { try $0.snapshot(accountID: accountID) }?.logins.map(\.id) ?? [])
        let committed = Set(results.flatMap(\.committed))
        #expect(committed.isSubset(of: stored))
        #expect(stored.count - committed.count <= results.map(\.busy).reduce(0, +))
        // The holders came back under their keys: an observer sees every writer's rows alive.
        var strict = settings
        strict.restartGrace = 0
        let observer = try open(strict)
        _ = try observer.read { try $0.snapshot(accountID: accountID) }
        #expect(observer.liveness.isAlive(holder))
    }
}

/// One writer's outcomes, filled from its own thread and read at the end.
final class WriterTally: @unchecked Sendable {
    struct Value: Sendable {
        var committed: [String] = []
        var committedAfterRestart = 0
        var rounds = 0
        var done = false
        var busy = 0
        var other: [String] = []
    }
    private let lock = NSLock()
    private var stored = Value()
    func record(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
    var value: Value { lock.withLock { stored } }
}

/// When the restart finished, once set.
final class RestartMoment: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Date?
    func set(_ date: Date) { lock.withLock { stored = date } }
    var value: Date? { lock.withLock { stored } }
}
