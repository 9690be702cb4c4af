import Foundation
import OCPSessions

/// Keeps an `exec` lease's token valid for its whole run: checks at most a second apart, and more
/// often as the token nears `minValidity` so that the token file never holds one with less left,
/// refreshes ahead of expiry, logs in again when the IAM killed the session, and rewrites the token file when
/// the token changed. Failures are reported once per distinct message and retried; they never end
/// the command.
struct LeaseKeeper {
    let lease: Lease
    let minValidity: Double
    let tokenFile: TokenFile?

    func run() async {
        var written = lease.accessToken
        var lastProblem: String?
        while !Task.isCancelled {
            let slack = lease.expiresAt - Date().timeIntervalSince1970 - minValidity
            try? await Task.sleep(nanoseconds: UInt64(min(1, max(0.1, slack / 2)) * 1e9))
            guard !Task.isCancelled else { return }
            do {
                let token = try await lease.token(minValidity: minValidity)
                if token != written {
                    try tokenFile?.write(token)
                    written = token
                }
                lastProblem = nil
            } catch is CancellationError {
                return
            } catch {
                let message = (error as? CLIError)?.description ?? OCPSessionsError.wrap(error).message
                if message != lastProblem {
                    FileHandle.standardError.write(Data("ocp-sessions: keeping the lease: \(message); retrying\n".utf8))
                    lastProblem = message
                }
            }
        }
    }
}
