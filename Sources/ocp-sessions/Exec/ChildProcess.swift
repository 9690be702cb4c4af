import Foundation

/// A command started by `exec`: spawned with an exact environment and default signal handling, and
/// waited for on a thread of its own (never on Swift's cooperative pool, which has only as many
/// threads as cores).
struct ChildProcess: Sendable {
    let pid: pid_t

    /// How a spawn failed, in the shell's terms.
    struct SpawnError: Error {
        /// 127 when the command was not found, 126 when it cannot be run.
        var exitCode: Int32
        var message: String
    }

    /// Starts `arguments[0]` (looked up in `PATH` when it has no slash) with `environment`.
    static func spawn(_ arguments: [String], environment: [String: String]) throws(SpawnError) -> ChildProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default handlers and an empty mask, whatever this process set up to
        // forward signals.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in ExecSignals.forwarded { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        // posix_spawnp searches this process's PATH, which the child inherits unchanged.
        let result = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, envp)
        switch result {
        case 0: return ChildProcess(pid: pid)
        case ENOENT: throw SpawnError(exitCode: 127, message: "\(arguments[0]): command not found")
        default: throw SpawnError(exitCode: 126, message: "\(arguments[0]): cannot run it: \(String(cString: strerror(result)))")
        }
    }

    /// Sends `signal` to the child.
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits for the child to end; its status as a shell reports it (128+N when signal N killed it).
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let pid = self.pid
            Thread.detachNewThread {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                let exited = status & 0x7f == 0
                continuation.resume(returning: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
        }
    }
}
