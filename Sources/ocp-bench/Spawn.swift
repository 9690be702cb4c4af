import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One finished child process: how long it took from `posix_spawn` to its exit, and what it printed.
struct SpawnResult: Sendable {
    var seconds: Double
    var status: Int32
    var stdout: String
    var timedOut: Bool

    var succeeded: Bool { status == 0 && !timedOut }
}

/// Starts programs the way a shell's `$(...)` does, with as little in between as possible:
/// `posix_spawn`, stdout on a pipe read to EOF, then `waitpid`. The clock runs from just before the
/// spawn to just after the reap, so the figure is what a script waits for.
///
/// Every child is killed (SIGKILL) when it passes `timeout`: nothing outlives the benchmark.
enum Spawn {
    static let spawnLock = NSLock()

    static func run(
        _ path: String, _ arguments: [String], environment: [String: String], timeout: Double = 30,
        stderrPath: String = "/dev/null"
    ) -> SpawnResult {
        var fds: [Int32] = [0, 0]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let (argv, envp) = cStrings(path, arguments, environment)
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        // Callers spawn from several threads at once, and a child that inherited another caller's
        // pipe would hold that caller's EOF back until it exits: pipes are made close-on-exec, and
        // (pipe2 does not import) no spawn may run between a pipe() and its fcntl().
        spawnLock.lock()
        guard pipe(&fds) == 0 else {
            spawnLock.unlock()
            return SpawnResult(seconds: 0, status: -1, stdout: "pipe: \(String(cString: strerror(errno)))", timedOut: false)
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        let start = Monotonic.now()
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        spawnLock.unlock()
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            return SpawnResult(seconds: 0, status: -1, stdout: "spawn \(path): \(String(cString: strerror(rc)))", timedOut: false)
        }
        let deadline = start + timeout
        var output = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var timedOut = false
        while true {
            let remaining = deadline - Monotonic.now()
            if remaining <= 0 {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining * 1000 + 1, 60_000)))
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            let count = read(fds[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: buffer[0..<count])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let elapsed = Monotonic.now() - start
        close(fds[0])
        // WIFEXITED / WEXITSTATUS, spelled out (the macros do not import).
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return SpawnResult(seconds: elapsed, status: exit, stdout: String(decoding: output, as: UTF8.self), timedOut: timedOut)
    }

    /// `argv` and `envp` for `posix_spawn`, NULL-terminated; the caller frees every element.
    static func cStrings(_ path: String, _ arguments: [String], _ environment: [String: String])
        -> ([UnsafeMutablePointer<CChar>?], [UnsafeMutablePointer<CChar>?])
    {
        (([path] + arguments).map { strdup($0) } + [nil], environment.map { strdup("\($0.key)=\($0.value)") } + [nil])
    }

    /// Where this executable lives, so siblings (`ocp-sessions`) and our own hidden worker can be found.
    static var ownExecutable: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Monotonic seconds.
enum Monotonic {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Runs blocking work (spawning, waiting) on its own threads so the cooperative pool and the
/// in-process simulator's event loop stay free.
enum Threads {
    /// Runs `body(i)` for `i` in `0..<count` on `count` new threads and returns the results in order.
    static func parallel<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) async -> [T] {
        await withCheckedContinuation { (continuation: CheckedContinuation<[T], Never>) in
            let results = ResultBox<T>(count: count)
            let group = DispatchGroup()
            for index in 0..<count {
                group.enter()
                let thread = Thread {
                    results.set(index, body(index))
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            group.notify(queue: .global()) { continuation.resume(returning: results.values()) }
        }
    }
}

final class ResultBox<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: T) { lock.withLock { slots[index] = value } }

    func values() -> [T] { lock.withLock { slots.map { $0! } } }
}
