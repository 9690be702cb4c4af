import Dispatch
import Foundation

/// SIGINT, SIGTERM and SIGHUP reach `exec` and are passed on to its command, which decides what to
/// do; `exec` itself stays alive to release the lease once the command has ended.
final class ExecSignals {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private let sources: [any DispatchSourceSignal]

    init(forwardingTo child: ChildProcess) {
        sources = Self.forwarded.map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { child.send(signalNumber) }
            source.resume()
            return source
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
    }
}
