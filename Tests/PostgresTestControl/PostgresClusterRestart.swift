import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The test cluster's restart, shared by both test targets: `pg_ctl restart -m fast` on
/// `OCP_SESSIONS_TEST_PGDATA` with the binaries in `OCP_SESSIONS_TEST_PGBIN`, as the `postgres`
/// user when running as root (the server refuses root).
public enum PostgresClusterRestart {
    /// Whether the environment names a data directory and binaries to restart with.
    public static var isConfigured: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OCP_SESSIONS_TEST_PGDATA"] != nil && environment["OCP_SESSIONS_TEST_PGBIN"] != nil
    }

    /// Runs the restart and returns its wait status (0: done; -1: it could not be started).
    /// posix_spawn and waitpid: Foundation's Process left runuser a zombie here and never returned
    /// from waitUntilExit.
    public static func run() -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let data = environment["OCP_SESSIONS_TEST_PGDATA"] ?? ""
        let pgCtl = (environment["OCP_SESSIONS_TEST_PGBIN"] ?? "") + "/pg_ctl"
        let arguments = [pgCtl, "-D", data, "-l", data + "/restart.log", "-m", "fast", "-w", "-t", "60", "restart"]
        let command = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments : arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, command[0], &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return status
    }
}
