import NIOCore

/// A kind of request whose answer ``KeycloakSimulator/hold(_:)`` can hold back.
public enum HeldOperation: String, Sendable, Hashable, CaseIterable {
    /// Password grants.
    case login
    /// Refresh grants.
    case refresh
    /// Logouts.
    case logout
}

/// Holds answers of processed requests until a test releases them, so a test can kill a client
/// while its request is in flight and the IAM has already acted on it.
final class HoldGate: Sendable {
    private struct State: Sendable {
        var holding: Set<HeldOperation> = []
        var waiting: [HeldOperation: [EventLoopPromise<Void>]] = [:]
        var closed = false
    }

    private let state = Locked(State())

    func hold(_ operation: HeldOperation) {
        state.withLock { state in
            if !state.closed { state.holding.insert(operation) }
        }
    }

    /// Stops holding and lets every held answer go. After `closing`, nothing is held again.
    func releaseAll(closing: Bool = false) {
        let promises = state.withLock { state in
            state.holding.removeAll()
            state.closed = state.closed || closing
            defer { state.waiting.removeAll() }
            return state.waiting.values.flatMap { $0 }
        }
        // Completed outside the lock: the callbacks write responses.
        for promise in promises { promise.succeed(()) }
    }

    func heldCount(_ operation: HeldOperation) -> Int {
        state.withLock { $0.waiting[operation]?.count ?? 0 }
    }

    /// A future that completes on release if answers of this kind are held, else `nil`.
    func waitIfHeld(_ operation: HeldOperation, on eventLoop: any EventLoop) -> EventLoopFuture<Void>? {
        state.withLock { state in
            guard state.holding.contains(operation) else { return nil }
            let promise = eventLoop.makePromise(of: Void.self)
            state.waiting[operation, default: []].append(promise)
            return promise.futureResult
        }
    }
}
