import Foundation
import KeycloakSimulator

/// What one run of the built binary printed, and how it ended.
struct CLIResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as JSON.
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) }
}

/// Runs `ocp-sessions` as a user would: a real process, an environment made for the test (no
/// inherited OCP_* settings, no config file unless given), output captured through files so a large
/// output never blocks the child.
struct CLI: Sendable {
    let directory: String
    var environment: [String: String]
    /// A command that runs the binary for the test, e.g. `setpriv` to drop root (empty: run it directly).
    var launcher: [String] = []

    /// An environment for `simulator`'s alice with a registry in `directory`.
    init(directory: String, simulator: KeycloakSimulator?) {
        self.directory = directory
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OCP_") }
        env["OCP_SESSIONS_REGISTRY"] = directory + "/registry.sqlite"
        env["OCP_SESSIONS_CONFIG"] = directory + "/config.toml"
        if let simulator {
            env["OCP_HOST"] = simulator.baseURL
            env["OCP_USERNAME"] = "alice"
            env["OCP_PASSWORD"] = "alice-pass"
        }
        environment = env
    }

    /// Starts the binary; the caller waits with `finish`.
    func start(_ arguments: [String], env overrides: [String: String?] = [:], stdin: String? = nil) throws -> RunningCLI {
        var env = environment
        for (key, value) in overrides { env[key] = value }
        let id = UUID().uuidString.prefix(8)
        let out = "\(directory)/out-\(id)", err = "\(directory)/err-\(id)"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher.first ?? TestPaths.binary)
        process.arguments = launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [TestPaths.binary] + arguments
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        if let stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(stdin.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        return RunningCLI(process: process, stdoutPath: out, stderrPath: err)
    }

    /// Runs the binary to the end.
    func run(_ arguments: [String], env overrides: [String: String?] = [:], stdin: String? = nil) async throws -> CLIResult {
        try await start(arguments, env: overrides, stdin: stdin).finish()
    }
}

/// A started `ocp-sessions` process.
struct RunningCLI: @unchecked Sendable {
    let process: Process
    let stdoutPath: String
    let stderrPath: String

    var pid: Int32 { process.processIdentifier }

    /// Waits (off the cooperative pool) for the process to end, at most `timeout` seconds, then
    /// kills it: a hung command fails its test instead of hanging the suite.
    func finish(timeout: Double = 90) async throws -> CLIResult {
        let process = self.process
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                while process.isRunning && Date() < deadline { usleep(10_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                process.waitUntilExit()
                continuation.resume()
            }
        }
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CLIResult(
            status: status,
            stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}

/// Runs `body` with a simulator (configured by `configure`), a private directory and a CLI
/// environment for alice, while no other process-spawning test runs.
func withCLI(
    _ name: String, _ configure: @escaping @Sendable (inout SimulatorConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (KeycloakSimulator, CLI) async throws -> Void
) async throws {
    let dir = TestPaths.temporaryDirectory(name)
    defer { TestPaths.remove(dir) }
    try await exclusively {
        try await withSimulator(configure) { simulator in
            try await body(simulator, CLI(directory: dir, simulator: simulator))
        }
    }
}
