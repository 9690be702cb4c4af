import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// ``KeycloakTransport`` over AsyncHTTPClient, with its own one-thread event loop group.
///
/// Creating one starts a thread, so create it only when a request is needed (see
/// ``KeycloakSettings/makeTransport(environment:)``), and always call ``shutdown()`` when done:
/// AsyncHTTPClient traps in debug builds when a client is released without being shut down.
///
/// - One attempt per request: connection establishment is not retried, redirects are not
///   followed, and a failed connect is reported at once instead of at the connect timeout.
/// - Every request has a deadline (``Configuration/requestTimeout`` unless the request sets one).
/// - Bodies beyond ``Configuration/maxBodyBytes`` are abandoned and reported as
///   ``KeycloakHTTPResponse/bodyExceededLimit``.
/// - Proxies come from ``Configuration/proxy`` (AsyncHTTPClient reads no environment variables);
///   since its proxy is per client, one client is kept per distinct proxy, created on first use.
public final class KeycloakHTTPTransport: KeycloakTransport, @unchecked Sendable {
    /// How the transport connects.
    public struct Configuration: Sendable {
        /// A PEM file with the CA certificate(s) to trust instead of the system roots.
        public var caFile: String?
        /// Short, so an unreachable host fails fast (a rejected certificate can otherwise
        /// surface only after it).
        public var connectTimeout: Duration
        /// Total deadline of a request, from sending to the last body byte.
        public var requestTimeout: Duration
        /// Usually ``KeycloakProxyConfiguration/fromEnvironment(_:)``.
        public var proxy: KeycloakProxyConfiguration
        /// Bodies longer than this are abandoned (1 MiB by default).
        public var maxBodyBytes: Int

        public init(
            caFile: String? = nil, connectTimeout: Duration = .seconds(3), requestTimeout: Duration = .seconds(10),
            proxy: KeycloakProxyConfiguration = .none, maxBodyBytes: Int = KeycloakResponseClassifier.maxBodyBytes
        ) {
            self.caFile = caFile
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.proxy = proxy
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// The settings the transport was created with.
    public let configuration: Configuration
    private let group: MultiThreadedEventLoopGroup
    private let tls: TLSConfiguration
    private let lock = NSLock()
    // Guarded by `lock`. Keyed by proxy; `nil` is the direct client.
    private var clients: [KeycloakProxyConfiguration.Server?: HTTPClient] = [:]
    private var isShutDown = false

    /// - Throws: `.configuration` when the CA file is missing, unreadable, or holds no certificate.
    public init(configuration: Configuration = Configuration()) throws(IdPError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.caFile {
            // Checked now, so that a bad path is a clear configuration error rather than a TLS
            // failure on the first request.
            do {
                guard try !NIOSSLCertificate.fromPEMFile(caFile).isEmpty else {
                    throw IdPError(.configuration, "CA file '\(KeycloakErrorText.quote(caFile))' holds no certificate")
                }
            } catch let error as IdPError {
                throw error
            } catch {
                throw IdPError(
                    .configuration,
                    "CA file '\(KeycloakErrorText.quote(caFile))' cannot be read as PEM certificates: "
                        + KeycloakErrorText.quote(String(describing: error))
                )
            }
            tls.trustRoots = .file(caFile)
        }
        self.tls = tls
        self.configuration = configuration
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Sends one request; see the type's documentation for the guarantees.
    public func send(_ request: KeycloakHTTPRequest) async throws(KeycloakTransportFailure) -> KeycloakHTTPResponse {
        let url: KeycloakURLPolicy.CheckedURL
        do {
            url = try KeycloakURLPolicy.checkEndpoint(request.url, what: "request URL")
        } catch {
            throw .configuration(error.message)
        }
        let proxy = configuration.proxy.proxy(for: url)
        let client = try self.client(for: proxy)
        let target = proxy.map { "the proxy " + KeycloakConnectFailure.target(host: $0.host, port: $0.port) }
            ?? KeycloakConnectFailure.target(host: url.host, port: url.effectivePort)

        let ahcRequest: HTTPClient.Request
        do {
            var headers = HTTPHeaders()
            for header in request.headers { headers.add(name: header.name, value: header.value) }
            ahcRequest = try HTTPClient.Request(
                url: url.string, method: HTTPMethod(rawValue: request.method.rawValue), headers: headers,
                body: request.body.map { .bytes($0) }
            )
        } catch {
            throw .configuration("cannot build a request to \(url.string): \(error)")
        }

        let collector = BoundedCollector(limit: configuration.maxBodyBytes)
        let deadline = NIODeadline.now() + TimeAmount(request.timeout ?? configuration.requestTimeout)
        let task = client.execute(request: ahcRequest, delegate: collector, deadline: deadline)
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            if let partial = collector.oversizedResponse() { return partial }
            throw Self.failure(for: error, requestSent: collector.requestSent, configuration: configuration, target: target)
        }
    }

    /// Shuts down the HTTP clients and the event loop group. Idempotent; requests after it fail
    /// with `notSent`.
    public func shutdown() async {
        let toShutDown: [HTTPClient]? = lock.withLock {
            guard !isShutDown else { return nil }
            isShutDown = true
            defer { clients = [:] }
            return Array(clients.values)
        }
        guard let toShutDown else { return }
        for client in toShutDown { try? await client.shutdown() }
        try? await group.shutdownGracefully()
    }

    private func client(for proxy: KeycloakProxyConfiguration.Server?) throws(KeycloakTransportFailure) -> HTTPClient {
        let result: HTTPClient? = lock.withLock {
            guard !isShutDown else { return nil }
            if let existing = clients[proxy] { return existing }
            let client = HTTPClient(eventLoopGroup: group, configuration: makeClientConfiguration(proxy: proxy))
            clients[proxy] = client
            return client
        }
        guard let result else { throw .notSent("the HTTP transport was already shut down") }
        return result
    }

    private func makeClientConfiguration(proxy: KeycloakProxyConfiguration.Server?) -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.connectTimeout)),
            proxy: proxy.map(Self.ahcProxy),
            ignoreUncleanSSLShutdown: false,
            decompression: .disabled
        )
        // One attempt: the caller owns retries and must learn at once that a connect failed.
        config.connectionPool.retryConnectionEstablishment = false
        return config
    }

    private static func ahcProxy(_ server: KeycloakProxyConfiguration.Server) -> HTTPClient.Configuration.Proxy {
        switch server.kind {
        case .socks5:
            return .socksServer(host: server.host, port: server.port)
        case .http:
            let authorization = server.username.map {
                HTTPClient.Authorization.basic(username: $0, password: server.password ?? "")
            }
            return .server(host: server.host, port: server.port, authorization: authorization)
        }
    }

    /// Maps an AsyncHTTPClient / NIO / NIOSSL error. Whether the request was sent, not the
    /// error's type, decides between "not sent" and "sent without answer", since connect
    /// failures come in many types (some internal to NIOPosix).
    static func failure(for error: any Error, requestSent: Bool, configuration: Configuration, target: String)
        -> KeycloakTransportFailure
    {
        let text = String(describing: error)
        if !requestSent, let plain = KeycloakConnectFailure.plainReason(error, target: target) { return .notSent(plain) }
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            return .tls(tlsReason(error, text))
        }
        if let ahc = error as? HTTPClientError {
            switch ahc {
            case .proxyAuthenticationRequired:
                return .configuration("the proxy requires authentication; give user:password in the proxy variable")
            case .invalidURL, .emptyHost, .emptyScheme:
                return .configuration("invalid request URL (\(text))")
            case .connectTimeout:
                return .notSent("connect timed out after \(configuration.connectTimeout)")
            case .invalidProxyResponse, .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return .notSent("the proxy did not open a tunnel to Keycloak (\(text))")
            case .tlsHandshakeTimeout:
                return .notSent("TLS handshake timed out")
            case .deadlineExceeded:
                return requestSent
                    ? .sentWithoutAnswer("no complete answer within \(configuration.requestTimeout)")
                    : .notSent("could not connect within the request deadline")
            default:
                break
            }
        }
        return requestSent ? .sentWithoutAnswer(text) : .notSent(text)
    }
}

extension KeycloakHTTPTransport {
    /// A short reason for the common TLS failures; BoringSSL's own text names source files.
    fileprivate static func tlsReason(_ error: any Error, _ text: String) -> String {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the server certificate does not match the host name"
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server certificate is not trusted (unknown CA, expired, or not for this host)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return "the server did not answer with TLS on this port"
        }
        return text
    }
}

/// Collects one response, keeping at most `limit` body bytes, and records whether the request
/// head went out. AsyncHTTPClient calls it on an event loop while the awaiting task reads it
/// afterwards, so its state is behind a lock.
private final class BoundedCollector: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = KeycloakHTTPResponse

    struct BodyTooLarge: Error {}

    private let limit: Int
    private let lock = NSLock()
    private var sent = false
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(limit: Int) { self.limit = limit }

    var requestSent: Bool { lock.withLock { sent } }

    /// The status and headers of an answer whose body was abandoned for being too large.
    func oversizedResponse() -> KeycloakHTTPResponse? {
        lock.withLock {
            guard tooLarge, let head else { return nil }
            return KeycloakHTTPResponse(
                status: Int(head.status.code), headers: Self.headers(head), body: [], bodyExceededLimit: true
            )
        }
    }

    func didSendRequestHead(task: HTTPClient.Task<Response>, _ head: HTTPRequestHead) {
        lock.withLock { sent = true }
    }

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        lock.withLock { self.head = head }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let accepted: Bool = lock.withLock {
            guard body.count + buffer.readableBytes <= limit else {
                tooLarge = true
                body = []
                return false
            }
            body.append(contentsOf: buffer.readableBytesView)
            return true
        }
        // Failing the future aborts the request: the rest of the body is never read.
        return accepted ? task.eventLoop.makeSucceededVoidFuture() : task.eventLoop.makeFailedFuture(BodyTooLarge())
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> KeycloakHTTPResponse {
        try lock.withLock {
            guard let head else { throw HTTPClientError.remoteConnectionClosed }
            return KeycloakHTTPResponse(status: Int(head.status.code), headers: Self.headers(head), body: body)
        }
    }

    private static func headers(_ head: HTTPResponseHead) -> [KeycloakHTTPHeader] {
        head.headers.map { KeycloakHTTPHeader($0.name, $0.value) }
    }
}
