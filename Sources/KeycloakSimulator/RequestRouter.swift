import NIOCore
import NIOHTTP1

/// What the connection handler does with a request.
struct Reply: Sendable {
    enum Action: Sendable {
        case respond(SimResponse)
        /// Close the connection without an answer.
        case dropConnection
    }

    var action: Action
    /// Runs once the answer has been written, or could not be.
    var onFinish: (@Sendable () -> Void)?
}

/// Maps a request to its endpoint: paths outside the realm, unknown realms, injected faults,
/// the login-cost delay and held answers are all decided here.
struct RequestRouter: Sendable {
    let core: SimulatorCore

    func route(_ request: SimRequest, on eventLoop: any EventLoop) -> EventLoopFuture<Reply> {
        let path: String
        switch locate(request.path) {
        case .outside:
            return eventLoop.makeSucceededFuture(Reply(action: .respond(.notFound)))
        case .unknownRealm:
            return eventLoop.makeSucceededFuture(
                Reply(action: .respond(.json(.notFound, ["error": "Realm does not exist"]))))
        case .realm(let pathBelowRealm):
            path = pathBelowRealm
        }
        if let fault = core.state.withLock({ $0.nextFault() }) {
            return inject(fault, request: request, on: eventLoop)
        }
        return run(endpoint(for: path, request), on: eventLoop)
    }

    // MARK: Paths

    private enum Location {
        case outside
        case unknownRealm
        /// The path below `{basePath}/realms/{realm}`, without slashes at either end.
        case realm(String)
    }

    private func locate(_ path: String) -> Location {
        let prefix = core.configuration.basePath + "/realms/"
        guard path.hasPrefix(prefix) else { return .outside }
        let rest = path.dropFirst(prefix.count)
        let realm = rest.prefix { $0 != "/" }
        guard realm == core.configuration.realm else { return .unknownRealm }
        var below = rest.dropFirst(realm.count)
        while below.hasPrefix("/") { below = below.dropFirst() }
        while below.hasSuffix("/") { below = below.dropLast() }
        return .realm(String(below))
    }

    private func endpoint(for path: String, _ request: SimRequest) -> EndpointStep {
        let method = request.method
        let accountSessions = "account/sessions/"
        switch path {
        case "":
            return method == .GET ? DiscoveryEndpoint(core: core).realm() : .respond(.methodNotAllowed)
        case ".well-known/openid-configuration":
            return method == .GET ? DiscoveryEndpoint(core: core).discovery() : .respond(.methodNotAllowed)
        case "protocol/openid-connect/certs":
            return method == .GET ? DiscoveryEndpoint(core: core).keys() : .respond(.methodNotAllowed)
        case "protocol/openid-connect/token":
            return method == .POST ? TokenEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        case "protocol/openid-connect/token/introspect":
            return method == .POST ? IntrospectionEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        case "protocol/openid-connect/logout":
            return method == .POST || method == .GET
                ? LogoutEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        case "protocol/openid-connect/revoke":
            return method == .POST ? RevocationEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        case "protocol/openid-connect/userinfo":
            return method == .POST || method == .GET
                ? UserInfoEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        case "account/sessions":
            return method == .GET || method == .DELETE
                ? AccountEndpoint(core: core).handle(request, sessionID: nil) : .respond(.methodNotAllowed)
        case _ where path.hasPrefix(accountSessions) && !path.dropFirst(accountSessions.count).contains("/"):
            let id = FormBody.percentDecoded(path.dropFirst(accountSessions.count))
            return method == .DELETE
                ? AccountEndpoint(core: core).handle(request, sessionID: id) : .respond(.methodNotAllowed)
        case "sim/protected":
            return method == .GET ? ProtectedEndpoint(core: core).handle(request) : .respond(.methodNotAllowed)
        default:
            return .respond(.notFound)
        }
    }

    // MARK: Running

    private func run(_ step: EndpointStep, on eventLoop: any EventLoop) -> EventLoopFuture<Reply> {
        switch step {
        case .done(let outcome):
            return deliver(outcome, on: eventLoop)
        case .after(let seconds, let then):
            guard seconds > 0 else { return deliver(then(), on: eventLoop) }
            return eventLoop.scheduleTask(in: .fractionalSeconds(seconds)) { then() }.futureResult
                .flatMap { deliver($0, on: eventLoop) }
        }
    }

    /// Answers now, or on release if answers of this kind are held.
    private func deliver(_ outcome: EndpointOutcome, on eventLoop: any EventLoop) -> EventLoopFuture<Reply> {
        let reply = Reply(action: .respond(outcome.response), onFinish: outcome.onFinish)
        guard let operation = outcome.operation, let release = core.holds.waitIfHeld(operation, on: eventLoop) else {
            return eventLoop.makeSucceededFuture(reply)
        }
        return release.map { reply }
    }

    private func inject(_ fault: FaultKind, request: SimRequest, on eventLoop: any EventLoop) -> EventLoopFuture<Reply>
    {
        switch fault {
        case .serverError:
            return eventLoop.makeSucceededFuture(
                Reply(action: .respond(.unknownError(acceptsHTML: request.acceptsHTML))))
        case .dropConnection:
            return eventLoop.makeSucceededFuture(Reply(action: .dropConnection))
        case .notJSON:
            let page = SimResponse.html(.ok, title: "Service Portal", message: "Please sign in to continue.")
            return eventLoop.makeSucceededFuture(Reply(action: .respond(page)))
        case .slowAnswer(let seconds):
            let timeout = SimResponse.html(.gatewayTimeout, title: "504 Gateway Time-out", message: "Gateway Time-out")
            return eventLoop.scheduleTask(in: .fractionalSeconds(seconds)) { Reply(action: .respond(timeout)) }
                .futureResult
        }
    }
}

extension TimeAmount {
    /// Fractional seconds, clamped to what `TimeAmount` can hold (callers pass validated values).
    static func fractionalSeconds(_ seconds: Double) -> TimeAmount {
        let nanoseconds = (seconds * 1_000_000_000).rounded()
        guard nanoseconds > 0 else { return .nanoseconds(0) }
        guard nanoseconds < Double(Int64.max) else { return .nanoseconds(.max) }
        return .nanoseconds(Int64(nanoseconds))
    }
}
