import Foundation
import NIOCore

/// An in-process HTTP server on loopback that answers like a Keycloak realm for the password
/// grant, refresh, logout, revocation, userinfo and the account API (see
/// `keycloak-behaviour.md`), and counts what it saw so tests can prove a session limit held.
///
/// ```swift
/// var configuration = SimulatorConfiguration()
/// configuration.sessionLimit = 5
/// configuration.maximumLifetime = 30
/// let simulator = try await KeycloakSimulator.start(configuration)
/// // … point clients at simulator.baseURL + "/auth/realms/master" …
/// #expect(simulator.statistics().highWaterMark["alice", default: 0] <= 5)
/// await simulator.shutdown()
/// ```
///
/// The server stops by itself after ``SimulatorConfiguration/maximumLifetime``.
public final class KeycloakSimulator: Sendable {
    private let core: SimulatorCore
    private let server: SimulatorServer
    private let lifetimeTimer: Scheduled<Void>?
    private let stopped: Locked<EventLoopFuture<Void>?>

    /// The bound port.
    public var port: Int { server.port }

    /// `http://HOST:PORT` (`https://URLHOST:PORT` with ``SimulatorConfiguration/tls``), without the base path: discovery is at
    /// `{baseURL}{basePath}/realms/{realm}/.well-known/openid-configuration`.
    public let baseURL: String

    /// The configuration the server runs with (limiter and faults as started; see the hooks).
    public var configuration: SimulatorConfiguration { core.configuration }

    /// `{baseURL}{basePath}/realms/{realm}`: the issuer, and the prefix of every endpoint.
    public var realmURL: String { core.issuer }

    private init(core: SimulatorCore, server: SimulatorServer, baseURL: String, maximumLifetime: Double) {
        self.core = core
        self.server = server
        self.baseURL = baseURL
        let stopped = Locked<EventLoopFuture<Void>?>(nil)
        self.stopped = stopped
        if maximumLifetime.isFinite {
            // Captures the parts, not `self`, so a simulator a test dropped still stops.
            let holds = core.holds
            lifetimeTimer = server.schedule(after: maximumLifetime) {
                _ = Self.stop(server: server, holds: holds, stopped: stopped)
            }
        } else {
            lifetimeTimer = nil
        }
    }

    /// Validates the configuration, binds `host:port` (0 picks a free port) and starts serving.
    ///
    /// - Throws: ``SimulatorConfigurationError`` for a configuration that makes no sense
    ///   (negative, NaN, infinite or absurd durations, a limit below 1, a fault rate outside
    ///   `0...1`, …), or the socket error if binding fails.
    /// - Parameter clock: epoch seconds; tests pass a manual clock so that sub-second lifetimes
    ///   expire exactly when the test says, whatever the machine's load.
    public static func start(
        _ configuration: SimulatorConfiguration, host: String = "127.0.0.1", port: Int = 0,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) async throws -> KeycloakSimulator {
        try configuration.validate()
        guard (0...65535).contains(port) else {
            throw SimulatorConfigurationError(field: "port", problem: "must be within 0...65535 (was \(port))")
        }
        let server = try await SimulatorServer.bind(host: host, port: port, tls: try configuration.tls.map(SimulatorServer.tlsContext))
        let urlHost = configuration.tls?.urlHost ?? (host.contains(":") ? "[\(host)]" : host)
        let baseURL = "\(configuration.tls == nil ? "http" : "https")://\(urlHost):\(server.port)"
        let core = SimulatorCore(configuration: configuration, baseURL: baseURL, clock: clock)
        server.install(RequestRouter(core: core))
        return KeycloakSimulator(
            core: core, server: server, baseURL: baseURL, maximumLifetime: configuration.maximumLifetime)
    }

    /// Releases held answers, stops listening and closes every connection. Safe to call twice.
    public func shutdown() async {
        lifetimeTimer?.cancel()
        try? await Self.stop(server: server, holds: core.holds, stopped: stopped).get()
    }

    private static func stop(server: SimulatorServer, holds: HoldGate, stopped: Locked<EventLoopFuture<Void>?>)
        -> EventLoopFuture<Void>
    {
        let promise = server.eventLoop.makePromise(of: Void.self)
        let earlier: EventLoopFuture<Void>? = stopped.withLock { stopped in
            if let stopped { return stopped }
            stopped = promise.futureResult
            return nil
        }
        if let earlier {
            promise.succeed(())
            return earlier
        }
        // Held answers first: their writes are queued on each connection ahead of its close.
        holds.releaseAll(closing: true)
        promise.completeWith(server.close())
        return promise.futureResult
    }

    /// The counters, with ``SimulatorStatistics/currentSessions`` as of now.
    public func statistics() -> SimulatorStatistics {
        let now = core.now
        return core.state.withLock { $0.snapshot(now: now) }
    }

    // MARK: Test hooks

    /// Every access, refresh and id token issued so far, when started with
    /// ``SimulatorConfiguration/recordIssuedTokens`` (empty otherwise).
    public func issuedTokens() -> [String] {
        core.issued.withLock { $0 }
    }

    /// From now on, requests of this kind are processed (a session created, tokens rotated, a
    /// session logged out) and then their answer is held until ``releaseHeld()`` or shutdown.
    public func hold(_ operation: HeldOperation) {
        core.holds.hold(operation)
    }

    /// Stops holding and sends every held answer.
    public func releaseHeld() {
        core.holds.releaseAll()
    }

    /// Requests of this kind whose answer is being held now, so a test can wait for one.
    public func heldCount(_ operation: HeldOperation) -> Int {
        core.holds.heldCount(operation)
    }

    /// Removes a session, as an admin's `DELETE /admin/realms/{realm}/sessions/{id}` does: its
    /// next refresh gets `Session not active`.
    public func killSession(id: String) {
        core.state.withLock { _ = $0.store.remove(id: id) }
    }

    /// Drops every online session (and brute-force and revocation state), like restarting an IAM
    /// that does not persist sessions; offline sessions survive, as they do in Keycloak's database.
    /// Counters are kept; high-water marks too.
    public func restart() {
        core.state.withLock { $0.restart() }
    }

    /// Creates sessions that no client of ours knows about (a browser login, another tool),
    /// bypassing the limiter and brute force. They count toward the limit and the high-water mark.
    /// - Returns: Their ids.
    @discardableResult
    public func createForeignSessions(username: String, count: Int, clientID: String = "other-tool") -> [String] {
        let now = core.now
        return core.state.withLock { state in
            (0..<max(count, 0)).map { _ in
                state.createSession(username: username, clientID: clientID, scope: "openid profile email", now: now).id
            }
        }
    }

    /// The user's online sessions (what the limiter counts), oldest first.
    public func liveSessions(username: String) -> [SimulatedSession] {
        let now = core.now
        return core.state.withLock { $0.store.liveSessions(of: username, now: now) }.map(SimulatedSession.init)
    }

    /// The user's offline sessions (logins with `scope=offline_access`), oldest first.
    public func offlineSessions(username: String) -> [SimulatedSession] {
        let now = core.now
        return core.state.withLock { $0.store.liveSessions(of: username, offline: true, now: now) }
            .map(SimulatedSession.init)
    }

    /// Replaces the fault configuration; the generator restarts from its seed. A rate outside
    /// `0...1` is clamped (NaN means 0) and a slow answer's negative or non-finite delay becomes 0.
    public func setFaults(_ faults: FaultConfiguration) {
        var sanitized = faults
        sanitized.rate = faults.rate.isNaN ? 0 : min(max(faults.rate, 0), 1)
        sanitized.kinds = faults.kinds.map { kind in
            guard case .slowAnswer(let seconds) = kind else { return kind }
            let valid = seconds.isFinite && seconds >= 0 && seconds <= SimulatorConfiguration.absurdDuration
            return .slowAnswer(seconds: valid ? seconds : 0)
        }
        core.state.withLock { $0.faults = FaultInjector(sanitized) }
    }

    /// Puts the limiter in or out of the flow for the next logins; existing sessions stay. A limit
    /// below 1 takes it out, as Keycloak's "≤ 0 disables".
    public func setSessionLimit(_ limit: Int?, behavior: LimiterBehavior) {
        let effective = limit.flatMap { $0 >= 1 ? $0 : nil }
        core.state.withLock { $0.limiter = SessionLimiter(limit: effective, behavior: behavior) }
    }
}
