import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into a flag that `simulate` polls, so that an interrupted run still
/// stops its workers and simulator and removes its temporary directory.
final class InterruptWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in self?.set() }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a signal arrived.
    var isSet: Bool { lock.withLock { interrupted } }

    private func set() { lock.withLock { interrupted = true } }

    deinit {
        sources.forEach { $0.cancel() }
    }
}
