import Foundation
import OCPSessions

/// Commands and registry reads the chaos and reconcile tests run after their workers.
extension WorkerFleet {
    /// Runs the binary to the end with the fleet's environment; its exit status and stdout.
    func command(_ arguments: [String], directory: String) async throws -> (status: Int32, stdout: String) {
        let output = "\(directory)/command-\(UUID().uuidString.prefix(8)).out"
        let process = try start(arguments, stdoutPath: output)
        // Off the cooperative pool: waitUntilExit blocks.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        return (process.terminationStatus, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// Settles what the run left for later (dead leases, lost logins through the account API) with
    /// `ocp-sessions prune`, so the registry can be compared with the IAM.
    func prune(directory: String) async throws -> Int32 {
        try await command(["prune"], directory: directory).status
    }

    /// `PRAGMA integrity_check` of the registry file (the full check, not quick_check).
    func integrityCheck() throws -> String {
        let database = try Database(path: registryPath, create: false)
        return try database.query("PRAGMA integrity_check").compactMap { $0.string(0) }.joined(separator: "; ")
    }

    /// Login reservations still in the registry.
    func loginIDs() throws -> Set<String> {
        let database = try Database(path: registryPath, create: false)
        return Set(try database.query("SELECT id FROM logins").compactMap { $0.string(0) })
    }
}
