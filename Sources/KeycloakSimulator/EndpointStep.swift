/// What an endpoint produced for one request.
struct EndpointOutcome: Sendable {
    var response: SimResponse
    /// The kind of request, so ``KeycloakSimulator/hold(_:)`` can hold its answer.
    var operation: HeldOperation?
    /// Runs once the answer has been written, or could not be.
    var onFinish: (@Sendable () -> Void)?

    init(_ response: SimResponse, operation: HeldOperation? = nil, onFinish: (@Sendable () -> Void)? = nil) {
        self.response = response
        self.operation = operation
        self.onFinish = onFinish
    }
}

/// An endpoint's answer, now or after a delay (the simulated password hashing).
enum EndpointStep: Sendable {
    case done(EndpointOutcome)
    /// Waits this many seconds without blocking the event loop, then runs `then`.
    case after(seconds: Double, then: @Sendable () -> EndpointOutcome)

    static func respond(_ response: SimResponse, operation: HeldOperation? = nil) -> EndpointStep {
        .done(EndpointOutcome(response, operation: operation))
    }
}
