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
/// Callers hold `lock` around every use (one transaction at a time per connection). When the
/// server drops the connection (a restart, `pg_terminate_backend`, a cut network), a background
/// task reconnects within about a second under the same holder key, listens again and bumps
/// `changes`; a caller that finds no connection opens one at once (`ensureOpen`).
final class PostgresConnectionBridge: @unchecked Sendable {
    let settings: PostgresRegistrySettings
    /// Serialises callers and the background reconnect.
    let lock = NSLock()
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger = Logger(label: "ocp-sessions.postgres")
    // Guarded by `lock`.
    private var connection: PostgresConnection?
    /// Set while this object closes its own connection: no background reconnect then.
    private var closing = false
    /// Notifications received on `ocp_sessions` plus reconnects: `changeCounter()`.
    let changes = NIOLockedValueBox<Int64>(0)
    /// The key of this object's session-level advisory lock, recorded on every row it holds. It
    /// never changes: a reconnect takes the same key, so its rows are alive again (unless another
    /// host reclaimed them meanwhile, which its next heartbeat learns).
    let holderLock = Int64.random(in: 1...Int64.max)
    /// The server's uptime when this connection took its lock, and when that was (monotonic).
    private var serverUptime: (seconds: Double, at: UInt64) = (.infinity, 0)
    /// Statements sent, for the figures in docs/postgres-design.md.
    private(set) var statements = 0

    init(settings: PostgresRegistrySettings) {
        self.settings = settings
    }

    deinit {
        closing = true
        try? connection?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// A statement still unanswered after this long closes the connection (`.busy`): server-side
    /// waits end at `lock_timeout`, so the server or the network has stopped answering.
    var statementDeadline: TimeAmount { .milliseconds(Int64((settings.busyTimeout + Self.statementGrace) * 1000)) }

    /// Seconds a statement may take beyond the busy timeout (a COMMIT's flush on a slow disk).
    static let statementGrace = 5.0

    /// Whether the server started less than `restartGrace` ago: every holder then counts as alive,
    /// since after a restart they all need a moment to reconnect and take their locks again.
    var inRestartGrace: Bool {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds &- serverUptime.at) / 1e9
        return serverUptime.seconds + elapsed < settings.restartGrace
    }

    /// Whether a connection is open now (callers hold `lock`).
    var isOpen: Bool { connection.map { !$0.isClosed } ?? false }

    /// Connects, listens and takes the holder lock; the caller holds `lock`.
    @discardableResult
    func open() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        closing = false
        let new: PostgresConnection
        do {
            new = try PostgresConnection.connect(
                on: group.next(), configuration: try settings.configuration, id: 1, logger: logger
            ).wait()
        } catch {
            throw PostgresRegistryError.map(error, settings: settings, doing: "connecting")
        }
        do {
            let changes = changes
            new.addListener(channel: "ocp_sessions") { _, _ in
                changes.withLockedValue { $0 &+= 1 }
            }
            // application_name, lock_timeout and the keepalives travel in the startup message.
            _ = try run("LISTEN ocp_sessions", on: new, doing: "listening")
            try takeHolderLock(on: new)
        } catch {
            _ = try? new.close().wait()
            throw error
        }
        connection = new
        // Notifications may have been missed while no connection listened.
        changes.withLockedValue { $0 &+= 1 }
        let weakSelf = WeakBridge(self)
        new.closeFuture.whenComplete { _ in
            // On the event loop: never block here. A thread of its own, not Dispatch's pool, which
            // a busy process may have filled with blocked work.
            Thread { Self.reconnect(weakSelf, after: new) }.start()
        }
        return new
    }

    /// The bridge, not kept alive by a reconnect in the background.
    final class WeakBridge: @unchecked Sendable {
        weak var bridge: PostgresConnectionBridge?
        init(_ bridge: PostgresConnectionBridge) { self.bridge = bridge }
    }

    /// Takes the holder lock in shared mode (another registry object of this key never blocks it).
    /// A try, not a wait: an observer that found the key free a moment ago holds it exclusively
    /// until its transaction ends (`PostgresTransaction.snapshot`), so this polls for that long.
    private func takeHolderLock(on connection: PostgresConnection) throws {
        let deadline = Date().addingTimeInterval(settings.busyTimeout)
        while true {
            let row = try run("""
                SELECT pg_try_advisory_lock_shared(\(holderLock)), extract(epoch FROM now() - pg_postmaster_start_time())::float8
                """, on: connection, doing: "taking the holder lock").rows.first
            let (taken, uptime) = try row?.decode((Bool, Double).self) ?? (false, .infinity)
            if taken {
                serverUptime = (uptime, DispatchTime.now().uptimeNanoseconds)
                return
            }
            guard Date() < deadline else {
                throw RegistryError.busy("the registry \(settings.location): the holder lock stayed taken past the busy timeout; try again")
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// In the background, after the connection closed by itself: the first attempt after about
    /// half a second (jittered, so hosts cut at once do not reconnect at once; deciders see the
    /// cut holder dead meanwhile and may take its slot), then backoff up to a second.
    private static func reconnect(_ weak: WeakBridge, after lost: PostgresConnection) {
        var delay = Double.random(in: 0.3...0.7)
        while true {
            Thread.sleep(forTimeInterval: delay)
            // A registry dropped meanwhile ends the loop.
            guard let bridge = weak.bridge else { return }
            let done: Bool = bridge.lock.withLock {
                if bridge.closing { return true }
                if let connection = bridge.connection, connection !== lost, !connection.isClosed { return true }
                return (try? bridge.open()) != nil
            }
            if done { return }
            delay = min(delay * 2, 1) * Double.random(in: 0.75...1.25)
        }
    }

    /// Before a transaction: replaces a connection the server closed (a restart, an idle cut),
    /// retrying with backoff for up to the busy timeout. No statement of the caller's has run yet,
    /// so nothing is lost or repeated; a connection lost mid-transaction fails that transaction.
    func ensureOpen() throws {
        if isOpen { return }
        let deadline = Date().addingTimeInterval(settings.busyTimeout)
        var delay = 0.05
        while true {
            let failure: RegistryError
            do {
                try open()
                return
            } catch let error as RegistryError {
                failure = error
            }
            guard case .busy = failure, Date().addingTimeInterval(delay) < deadline else { throw failure }
            Thread.sleep(forTimeInterval: delay * Double.random(in: 0.75...1.25))
            delay = min(delay * 2, 1)
        }
    }

    /// `BEGIN`, `body`, `COMMIT` on the open connection; any error rolls back and is rethrown.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    /// Runs one statement on the open connection and collects its rows. Never opens one: a
    /// connection lost mid-transaction fails the transaction (`.busy`) rather than going on elsewhere.
    @discardableResult
    func query(_ query: PostgresQuery, doing what: String = "running a statement") throws -> PostgresQueryResult {
        guard let connection, !connection.isClosed else {
            throw RegistryError.busy("the connection to the registry \(settings.location) was lost (\(what)); try again")
        }
        return try run(query, on: connection, doing: what)
    }

    private func run(_ query: PostgresQuery, on connection: PostgresConnection, doing what: String) throws -> PostgresQueryResult {
        statements += 1
        let future = connection.query(query, logger: logger)
        // A server that stopped answering (no RST: power loss, a cut network) would leave this
        // wait hanging until TCP gives up; closing the connection fails the future.
        let timedOut = NIOLockedValueBox(false)
        let deadline = connection.eventLoop.scheduleTask(in: statementDeadline) {
            timedOut.withLockedValue { $0 = true }
            let _: EventLoopFuture<Void> = connection.close()
        }
        defer { deadline.cancel() }
        do {
            return try future.wait()
        } catch {
            // A lost connection is dropped at once (its graceful close may still be pending): the
            // failed transaction reports it, and the next one opens another.
            if timedOut.withLockedValue({ $0 }) || connection.isClosed || PostgresRegistryError.isConnectionLoss(error) {
                discard(connection)
            }
            throw PostgresRegistryError.map(error, settings: settings, doing: what)
        }
    }

    /// Opens a connection if there is none and runs one statement, outside any transaction: for
    /// opening a registry (migrations) and for administration in tests.
    @discardableResult
    func execute(_ statement: PostgresQuery, doing what: String = "running a statement") throws -> PostgresQueryResult {
        try lock.withLock {
            try ensureOpen()
            return try query(statement, doing: what)
        }
    }

    /// Forgets `lost` if it is the current connection, closing it (a second close is harmless).
    private func discard(_ lost: PostgresConnection) {
        if connection === lost { connection = nil }
        let _: EventLoopFuture<Void> = lost.close()
    }

    /// Closes the connection without a background reconnect; the next `ensureOpen` opens a new one.
    func close() {
        closing = true
        try? connection?.close().wait()
        connection = nil
    }
}
