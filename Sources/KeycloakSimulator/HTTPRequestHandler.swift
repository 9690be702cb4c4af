import NIOCore
import NIOHTTP1

/// Collects one request at a time from an HTTP/1.1 connection, routes it and writes the reply.
///
/// `HTTPServerPipelineHandler` in front of it holds pipelined requests back until the previous
/// answer is written, so a held answer stalls only its own connection.
final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Larger bodies get 413: no legitimate form here comes near it.
    static let maximumBodySize = 64 * 1024

    private let router: RequestRouter
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var bodyTooLarge = false
    /// Set when the connection closes, so a late (delayed or held) reply is not written.
    private var closed = false

    init(router: RequestRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
            let declared = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            bodyTooLarge = declared > Self.maximumBodySize
            // curl asks before sending a body over 1 KiB and would otherwise wait a second.
            if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let proceed = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(proceed)), promise: nil)
            }
        case .body(let chunk):
            guard !bodyTooLarge else { return }
            if body.count + chunk.readableBytes > Self.maximumBodySize {
                bodyTooLarge = true
                body = []
            } else {
                body.append(contentsOf: chunk.readableBytesView)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset by a killed client, or a protocol error already answered by NIO's error handler.
        closed = true
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard !bodyTooLarge else {
            body = []
            write(SimResponse.empty(.payloadTooLarge), version: head.version, keepAlive: false, context: context) {}
            return
        }
        let request = SimRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
        body = []
        let keepAlive = head.isKeepAlive
        router.route(request, on: context.eventLoop)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                let reply = (try? result.get()) ?? Reply(action: .respond(.unknownError(acceptsHTML: false)))
                let finish = reply.onFinish ?? {}
                guard !self.closed else { return finish() }
                switch reply.action {
                case .dropConnection:
                    context.close(promise: nil)
                    finish()
                case .respond(let response):
                    self.write(response, version: head.version, keepAlive: keepAlive, context: context, then: finish)
                }
            }
    }

    private func write(
        _ response: SimResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext,
        then finish: @escaping () -> Void
    ) {
        var headers = response.headers
        // 204 must not carry a length (RFC 9110 §8.6); every other answer has an exact one.
        if response.status != .noContent {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        }
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            finish()
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
