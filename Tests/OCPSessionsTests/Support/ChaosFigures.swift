import Foundation
import OCPSessions

/// Seeds and figures of the chaos suite: `OCP_CHAOS_SEED=N` replays a run's random choices,
/// `OCP_CHAOS_REPORT=1` adds one line per kill to the one-line summary every test prints.
enum ChaosFigures {
    /// The seed from `OCP_CHAOS_SEED`, else a new random one (printed with the figures).
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["OCP_CHAOS_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64(UInt32.max))
    }

    static var detailed: Bool { ProcessInfo.processInfo.environment["OCP_CHAOS_REPORT"] == "1" }

    static func print(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func seconds(_ value: Double?) -> String {
        value.map { String(format: "%.2fs", $0) } ?? "-"
    }
}

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

    /// Sessions whose logout is claimed or to be retried.
    func loggingOutSessionIDs() throws -> Set<String> {
        let database = try Database(path: registryPath, create: false)
        return Set(try database.query("SELECT id FROM sessions WHERE state = 'logging_out'").compactMap { $0.string(0) })
    }

    /// Login reservations still in the registry.
    func loginIDs() throws -> Set<String> {
        let database = try Database(path: registryPath, create: false)
        return Set(try database.query("SELECT id FROM logins").compactMap { $0.string(0) })
    }
}
