import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The listening socket and its connections.
///
/// The router is installed after binding, because the issuer URL in every token depends on the
/// port the system picked; a connection that sneaks in before that is closed.
final class SimulatorServer: Sendable {
    private let channel: any Channel
    private let connections: ConnectionRegistry
    private let routerSlot: Locked<RequestRouter?>

    /// The bound port.
    let port: Int

    /// The listening socket's event loop.
    var eventLoop: any EventLoop { channel.eventLoop }

    private init(channel: any Channel, connections: ConnectionRegistry, routerSlot: Locked<RequestRouter?>, port: Int) {
        self.channel = channel
        self.connections = connections
        self.routerSlot = routerSlot
        self.port = port
    }

    /// A server context for `tls`; bad PEM is a configuration error.
    static func tlsContext(_ tls: SimulatorTLS) throws -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(tls.certificateChainPEM.utf8)).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(bytes: Array(tls.privateKeyPEM.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SimulatorConfigurationError(field: "tls", problem: "certificate or key not usable: \(error)")
        }
    }

    static func bind(host: String, port: Int, tls: NIOSSLContext? = nil) async throws -> SimulatorServer {
        let connections = ConnectionRegistry()
        let routerSlot = Locked<RequestRouter?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nagle plus delayed ACKs stalls small answers on reused connections by 40 ms.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard let router = routerSlot.withLock({ $0 }), connections.add(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(router: router))
                }
            }
            .bind(host: host, port: port)
            .get()
        guard let boundPort = channel.localAddress?.port else {
            try? await channel.close()
            throw SimulatorConfigurationError(field: "port", problem: "could not be determined after binding")
        }
        return SimulatorServer(channel: channel, connections: connections, routerSlot: routerSlot, port: boundPort)
    }

    func install(_ router: RequestRouter) {
        routerSlot.withLock { $0 = router }
    }

    /// Stops listening and closes every connection. Callers release held answers first: their
    /// writes are queued on each connection's event loop ahead of its close.
    func close() -> EventLoopFuture<Void> {
        let open = connections.closeRegistry()
        let eventLoop = channel.eventLoop
        let listening = channel.close().recover { _ in }
        let closing = open.map { connection in
            connection.eventLoop.flatSubmit { connection.close() }.recover { _ in }
        }
        return EventLoopFuture.andAllComplete([listening] + closing, on: eventLoop)
    }

    /// The server's own lifetime timer, on its listening event loop.
    func schedule(after seconds: Double, _ task: @escaping @Sendable () -> Void) -> Scheduled<Void> {
        channel.eventLoop.scheduleTask(in: .fractionalSeconds(seconds), task)
    }
}

/// The open connections, so shutdown can close them.
final class ConnectionRegistry: Sendable {
    private struct State: Sendable {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    private let state = Locked(State())

    /// Registers a new connection; `false` once the server is shutting down.
    func add(_ channel: any Channel) -> Bool {
        let added = state.withLock { state in
            guard !state.closed else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
        if added {
            channel.closeFuture.whenComplete { [weak self] _ in
                self?.state.withLock { _ = $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
            }
        }
        return added
    }

    /// Refuses further connections and hands back the open ones.
    func closeRegistry() -> [any Channel] {
        state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
    }
}
