/// Lets one process-spawning test run at a time across all suites (Swift Testing runs suites in
/// parallel). Timing-sensitive multi-process tests then see the machine's two cores, not a share.
actor HeavyTestGate {
    static let shared = HeavyTestGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// Runs `body` while no other heavy (process-spawning) test runs.
func exclusively<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    try await HeavyTestGate.shared.run(body)
}
