import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

@testable import OCPSessions

/// A transport answering from a closure, recording every request.
final class KeycloakCannedTransport: KeycloakTransport, @unchecked Sendable {
    typealias Reply = Result<KeycloakHTTPResponse, KeycloakTransportFailure>
    private let lock = NSLock()
    private var recorded: [KeycloakHTTPRequest] = []
    private var shutDownCount = 0
    private let reply: @Sendable (KeycloakHTTPRequest) -> Reply

    init(_ reply: @escaping @Sendable (KeycloakHTTPRequest) -> Reply) {
        self.reply = reply
    }

    /// Always the same answer.
    convenience init(status: Int, body: String, headers: [KeycloakHTTPHeader] = []) {
        self.init { _ in .success(KeycloakHTTPResponse(status: status, headers: headers, body: body)) }
    }

    var requests: [KeycloakHTTPRequest] { lock.withLock { recorded } }
    var shutdowns: Int { lock.withLock { shutDownCount } }

    func send(_ request: KeycloakHTTPRequest) async throws(KeycloakTransportFailure) -> KeycloakHTTPResponse {
        lock.withLock { recorded.append(request) }
        return try reply(request).get()
    }

    func shutdown() async { lock.withLock { shutDownCount += 1 } }
}

enum KeycloakFixtures {
    static let host = "https://sso.example.com"
    static let realm = "acme"
    static let endpoints = KeycloakEndpoints.fixed(
        host: host, realm: realm, realmURL: "https://sso.example.com/realms/acme", discovered: true
    )

    /// A JWT-shaped string whose payload carries `sid` (signature is not checked).
    static func jwt(sid: String = "11111111-2222-3333-4444-555555555555") -> String {
        let header = base64URL(Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Data(#"{"sid":"\#(sid)","exp":1900000000}"#.utf8))
        return "\(header).\(payload).c2lnbmF0dXJl"
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func tokenBody(
        access: String? = jwt(), refresh: String? = "eyJhbGciOiJIUzI1NiJ9.cmVmcmVzaA.c2ln",
        sessionState: String? = "11111111-2222-3333-4444-555555555555", expiresIn: String? = "300",
        refreshExpiresIn: String? = "1800", scope: String? = "openid profile email", extra: String = ""
    ) -> String {
        var fields: [String] = []
        if let access { fields.append(#""access_token":"\#(access)""#) }
        if let expiresIn { fields.append(#""expires_in":\#(expiresIn)"#) }
        if let refreshExpiresIn { fields.append(#""refresh_expires_in":\#(refreshExpiresIn)"#) }
        if let refresh { fields.append(#""refresh_token":"\#(refresh)""#) }
        fields.append(#""token_type":"Bearer""#)
        fields.append(#""not-before-policy":0"#)
        if let sessionState { fields.append(#""session_state":"\#(sessionState)""#) }
        if let scope { fields.append(#""scope":"\#(scope)""#) }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func discoveryBody(base: String, realm: String = "acme") -> String {
        let r = "\(base)/realms/\(realm)"
        return """
            {"issuer":"\(r)","token_endpoint":"\(r)/protocol/openid-connect/token",\
            "introspection_endpoint":"\(r)/protocol/openid-connect/token/introspect",\
            "userinfo_endpoint":"\(r)/protocol/openid-connect/userinfo",\
            "end_session_endpoint":"\(r)/protocol/openid-connect/logout",\
            "revocation_endpoint":"\(r)/protocol/openid-connect/revoke",\
            "jwks_uri":"\(r)/protocol/openid-connect/certs",\
            "grant_types_supported":["authorization_code","password","refresh_token"],\
            "backchannel_logout_supported":true}
            """
    }
}


/// Decodes `application/x-www-form-urlencoded` (the server side's view), for assertions.
func keycloakDecodeForm(_ body: [UInt8]?) -> [(String, String)] {
    guard let body else { return [] }
    let text = String(decoding: body, as: UTF8.self)
    return text.split(separator: "&", omittingEmptySubsequences: false).map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ s: Substring) -> String {
            s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "<invalid>"
        }
        return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for transport and discovery tests. Use it through
/// ``withKeycloakLoopbackServer(tls:_:body:)``, which always stops it.
final class KeycloakLoopbackServer: @unchecked Sendable {
    struct Received: Sendable {
        var method: String
        var uri: String
        var headers: [KeycloakHTTPHeader]
        var body: [UInt8]
    }

    enum Reply: Sendable {
        case respond(status: Int, headers: [KeycloakHTTPHeader], body: [UInt8])
        /// Close the connection without answering.
        case close
        /// Never answer.
        case hang
    }

    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let port: Int
    private let lock = NSLock()
    private var log: [Received] = []

    var received: [Received] { lock.withLock { log } }

    fileprivate func record(_ r: Received) { lock.withLock { log.append(r) } }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    static func start(
        tls: NIOSSLContext? = nil, handler: @escaping @Sendable (Received) -> Reply
    ) async throws -> KeycloakLoopbackServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = KeycloakServerBox()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(KeycloakRequestHandler(box: box, reply: handler))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = KeycloakLoopbackServer(group: group, channel: channel)
        box.server = server
        return server
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
}

/// Late-bound reference from handlers to the server (handlers are created before it exists).
private final class KeycloakServerBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _server: KeycloakLoopbackServer?
    var server: KeycloakLoopbackServer? {
        get { lock.withLock { _server } }
        set { lock.withLock { _server = newValue } }
    }
}

private final class KeycloakRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: KeycloakServerBox
    private let reply: @Sendable (KeycloakLoopbackServer.Received) -> KeycloakLoopbackServer.Reply
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(box: KeycloakServerBox, reply: @escaping @Sendable (KeycloakLoopbackServer.Received) -> KeycloakLoopbackServer.Reply) {
        self.box = box
        self.reply = reply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let received = KeycloakLoopbackServer.Received(
                method: head.method.rawValue, uri: head.uri,
                headers: head.headers.map { KeycloakHTTPHeader($0.name, $0.value) }, body: body
            )
            box.server?.record(received)
            switch reply(received) {
            case .hang:
                break
            case .close:
                context.close(promise: nil)
            case .respond(let status, let headers, let body):
                var httpHeaders = HTTPHeaders(headers.map { ($0.name, $0.value) })
                httpHeaders.replaceOrAdd(name: "Content-Length", value: "\(body.count)")
                let responseHead = HTTPResponseHead(
                    version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: httpHeaders
                )
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// Runs `body` with a started loopback server and stops the server afterwards, also on failure.
func withKeycloakLoopbackServer<T>(
    tls: NIOSSLContext? = nil,
    _ handler: @escaping @Sendable (KeycloakLoopbackServer.Received) -> KeycloakLoopbackServer.Reply,
    body: (KeycloakLoopbackServer) async throws -> T
) async throws -> T {
    let server = try await KeycloakLoopbackServer.start(tls: tls, handler: handler)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Runs `body` with a transport and shuts it down afterwards.
func withKeycloakTransport<T>(
    _ configuration: KeycloakHTTPTransport.Configuration = .init(),
    body: (KeycloakHTTPTransport) async throws -> T
) async throws -> T {
    let transport = try KeycloakHTTPTransport(configuration: configuration)
    do {
        let result = try await body(transport)
        await transport.shutdown()
        return result
    } catch {
        await transport.shutdown()
        throw error
    }
}

/// Test certificates: a CA and a server certificate for `localhost` / `127.0.0.1` signed by
/// it (P-256, valid until 2126), generated once with openssl.
enum KeycloakTestCertificates {
    static let caPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBpTCCAUugAwIBAgIUb5jklDiOMtLZoo2FTG0hsN+B51AwCgYIKoZIzj0EAwIw
        HzEdMBsGA1UEAwwUb2NwLXNlc3Npb25zIHRlc3QgQ0EwIBcNMjYxMTI5MDEzNjU0
        WhgPMjEyNjExMDUwMTM2NTRaMB8xHTAbBgNVBAMMFG9jcC1zZXNzaW9ucyB0ZXN0
        IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjVAs/wSznWeKvYWUlOa4m8Yq
        ePW9/iQQjPuJ+wpF1BGL819k6gGN9Y3ns81zVv/QLOenshA65Ecj1No/Os71M6Nj
        MGEwHQYDVR0OBBYEFL9nsWp+EtqfBVU0GC3DuuLijZjsMB8GA1UdIwQYMBaAFL9n
        sWp+EtqfBVU0GC3DuuLijZjsMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
        AgEGMAoGCCqGSM49BAMCA0gAMEUCIBilCeN6CtOdMB3waHLT477zzyyP/t5/xpCw
        zygLDyDeAiEA2cZ4TXL15JJPMJCjLXKdY5EBCVhaOIlrTsaTBaIdrQI=
        -----END CERTIFICATE-----
        """
    static let serverPEM = """
        -----BEGIN CERTIFICATE-----
        MIIBtTCCAVugAwIBAgIUYyiJRoSahSvzJpWlGrekpaPw8KYwCgYIKoZIzj0EAwIw
        HzEdMBsGA1UEAwwUb2NwLXNlc3Npb25zIHRlc3QgQ0EwIBcNMjYxMTI5MDEzNjU0
        WhgPMjEyNjExMDUwMTM2NTRaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqG
        SM49AgEGCCqGSM49AwEHA0IABFAxs8Nt5re9ZKusajBEZuL7/v+GQB3KuxBtxXgm
        AEv4OOVprvidpwO/ezjfxDjLbi7O5AHYGNP1HMa5AZ+xkCejfjB8MBoGA1UdEQQT
        MBGCCWxvY2FsaG9zdIcEfwAAATAJBgNVHRMEAjAAMBMGA1UdJQQMMAoGCCsGAQUF
        BwMBMB0GA1UdDgQWBBTcBX+uywA3sSpB8usGMtn5adFrhjAfBgNVHSMEGDAWgBS/
        Z7FqfhLanwVVNBgtw7ri4o2Y7DAKBggqhkjOPQQDAgNIADBFAiASH0rSIpD8qOZO
        tlo2aoFAWVdsrvPPT0Ng/2F3Eb14ZQIhAITUNYGRnIO0et1z/qO3zwyrKYCUz6y4
        Of2XxZ184OAe
        -----END CERTIFICATE-----
        """
    static let serverKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLGczQ4kTBXI5f6O/
        2Qq3stmkzlr4XLD16DBGbE3C7gihRANCAARQMbPDbea3vWSrrGowRGbi+/7/hkAd
        yrsQbcV4JgBL+Djlaa74nacDv3s438Q4y24uzuQB2BjT9RzGuQGfsZAn
        -----END PRIVATE KEY-----
        """

    static func serverContext() throws -> NIOSSLContext {
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serverPEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serverKeyPEM.utf8), format: .pem))
        )
        config.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: config)
    }

    /// Writes `text` to a fresh temporary file and returns its path.
    static func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("kc-test-\(UUID().uuidString).pem").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}
