import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import OCPSessions
import PostgresNIO

/// One PostgreSQL connection on an event loop of its own, driven synchronously: each statement
/// blocks the calling thread on postgres-nio's future (docs/postgres-design.md, "Why it cannot
/// deadlock"). The event loop completes futures and counts notifications; it never waits on us.
///
/// Not thread-safe by itself: `PostgresRegistry` serialises callers with its lock.
final class PostgresConnectionBridge: @unchecked Sendable {
    let settings: PostgresRegistrySettings
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger = Logger(label: "ocp-sessions.postgres")
    private var connection: PostgresConnection?
    /// Notifications received on `ocp_sessions` plus reconnects: `changeCounter()`.
    let changes = NIOLockedValueBox<Int64>(0)
    /// The key of this connection's session-level advisory lock, recorded on every row it holds.
    private(set) var holderLock: Int64 = 0
    private var serverStartedAt: String?

    init(settings: PostgresRegistrySettings) {
        self.settings = settings
    }

    deinit {
        try? connection?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// The open connection, connecting (and taking a holder lock, and listening) when there is none.
    func open() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(
                on: group.next(), configuration: try settings.configuration, id: 1, logger: logger
            ).wait()
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: "connecting")
        }
        self.connection = connection
        let changes = changes
        connection.addListener(channel: "ocp_sessions") { _, _ in
            changes.withLockedValue { $0 &+= 1 }
        }
        changes.withLockedValue { $0 &+= 1 }
        // The connection's settings (application_name, lock_timeout, keepalives) travel in the
        // startup message: `PostgresRegistrySettings.startupParameters`.
        _ = try query("LISTEN ocp_sessions", doing: "setting up the connection")
        try takeHolderLock()
        return connection
    }

    /// Before a transaction: replaces a connection the server closed (a restart, an idle cut),
    /// retrying with backoff for up to the busy timeout. No statement of the caller's has run yet,
    /// so nothing is lost or repeated; a connection lost mid-transaction fails that transaction.
    func ensureOpen() throws {
        if let connection, !connection.isClosed { return }
        connection = nil
        let deadline = Date().addingTimeInterval(settings.busyTimeout)
        var delay = 0.05
        while true {
            let failure: RegistryError
            do {
                _ = try open()
                return
            } catch let error as RegistryError {
                failure = error
            }
            guard case .busy = failure, Date().addingTimeInterval(delay) < deadline else { throw failure }
            Thread.sleep(forTimeInterval: delay)
            delay = min(delay * 2, 1)
        }
    }

    /// A new random key per connection, unless the server restarted since the last one: then the
    /// rows of the previous key are still ours (docs/postgres-design.md, "Holder liveness").
    private func takeHolderLock() throws {
        let started = try query("SELECT pg_postmaster_start_time()::text", doing: "reading the server's start").rows
            .first.flatMap { try? $0.decode(String.self) }
        if holderLock == 0 || started == serverStartedAt {
            holderLock = Int64.random(in: 1...Int64.max)
        }
        serverStartedAt = started
        _ = try query("SELECT pg_advisory_lock_shared(\(holderLock))", doing: "taking the holder lock")
    }

    /// Runs one statement and collects its rows.
    @discardableResult
    func query(_ query: PostgresQuery, doing what: String = "running a statement") throws -> PostgresQueryResult {
        let connection = try open()
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: what)
        }
    }

    func close() {
        try? connection?.close().wait()
        connection = nil
    }
}
