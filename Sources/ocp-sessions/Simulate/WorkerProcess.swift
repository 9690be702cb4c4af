import Foundation

/// One `ocp-sessions worker` OS process started by `simulate`, with its stdout and stderr in files
/// (files, not pipes, so a chatty worker can never block on a full pipe while nobody reads it).
final class WorkerProcess {
    private let process = Process()
    private let outputPath: String
    private let errorPath: String

    /// Starts `executable` with `arguments` and exactly `environment`.
    init(executable: String, arguments: [String], environment: [String: String], outputPath: String,
         errorPath: String) throws {
        self.outputPath = outputPath
        self.errorPath = errorPath
        for path in [outputPath, errorPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw CLIError.failure("cannot create \(path)", 70) }
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        do {
            try process.run()
        } catch {
            throw CLIError.failure("cannot start a worker process (\(executable)): \(error.localizedDescription)", 70)
        }
    }

    var isRunning: Bool { process.isRunning }

    /// The exit status, or 128 + the signal that ended it; `nil` while it runs.
    var status: Int32? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Asks the worker to stop (SIGTERM), or ends it (SIGKILL).
    func stop(force: Bool) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, force ? SIGKILL : SIGTERM)
    }

    /// What the worker printed on stdout: its JSON summary.
    var output: Data { FileManager.default.contents(atPath: outputPath) ?? Data() }

    /// The first line the worker wrote to stderr, if any (a one-line error by design).
    var firstErrorLine: String? {
        let text = String(decoding: FileManager.default.contents(atPath: errorPath) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)
    }

    /// The path of the running binary: /proc/self/exe on Linux, else what the process was started as.
    static var currentExecutable: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}
