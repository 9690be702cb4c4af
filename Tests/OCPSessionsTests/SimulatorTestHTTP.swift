import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An answer as a simulator test sees it.
struct SimTestResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first(name: name) }

    /// The body as a JSON object, `nil` if it is not one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// The body as a JSON array of objects, `nil` if it is not one.
    var jsonArray: [[String: Any]]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]]
    }

    func string(_ key: String) -> String? { json?[key] as? String }

    func number(_ key: String) -> Double? { (json?[key] as? NSNumber)?.doubleValue }

    /// `error` and `error_description` of an OAuth error body.
    var oauthError: [String?] { [string("error"), string("error_description")] }
}

enum SimTestHTTPError: Error {
    case closedWithoutAnswer
}

/// A tiny HTTP/1.1 client over NIO for the simulator's tests. Each `withConnection` opens one
/// keep-alive connection; its requests go one after another.
struct SimTestHTTPClient: Sendable {
    let host: String
    let port: Int

    init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    func withConnection<Result: Sendable>(_ body: (SimTestConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let authority = "\(host):\(port)"
        return try await channel.executeThenClose { inbound, outbound in
            let connection = SimTestConnection(
                inbound: inbound.makeAsyncIterator(), outbound: outbound, authority: authority)
            return try await body(connection)
        }
    }

    /// One request on its own connection.
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> SimTestResponse {
        try await withConnection { try await $0.send(method, path, headers: headers, body: body) }
    }
}

/// One open connection of ``SimTestHTTPClient``.
final class SimTestConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let authority: String

    init(
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, authority: String
    ) {
        self.inbound = inbound
        self.outbound = outbound
        self.authority = authority
    }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> SimTestResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: authority)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .POST {
            head.headers.add(name: "Content-Length", value: String(body.count))
        }
        try await outbound.write(.head(head))
        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
        var responseHead: HTTPResponseHead?
        var collected: [UInt8] = []
        while let part = try await inbound.next() {
            switch part {
            case .head(let received): responseHead = received
            case .body(let chunk): collected += chunk.readableBytesView
            case .end:
                guard let responseHead else { throw SimTestHTTPError.closedWithoutAnswer }
                return SimTestResponse(
                    status: Int(responseHead.status.code), headers: responseHead.headers, body: collected)
            }
        }
        throw SimTestHTTPError.closedWithoutAnswer
    }
}

/// `application/x-www-form-urlencoded`, with `+` for spaces.
func simTestFormEncode(_ fields: [(String, String)]) -> [UInt8] {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~ ")
    func encode(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: " ", with: "+")
    }
    return Array(fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&").utf8)
}
