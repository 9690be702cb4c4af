import Foundation

/// Baseline (b): `oidc-token` from Debian's oidc-agent-cli, following shared/docs/peers.md: the
/// agent on a private socket, OIDC_CONFIG_DIR in the run's directory, the account generated with
/// the password flow and kept in memory (`--no-save`), the agent stopped by its pid at the end.
extension Bench {
    func measureOIDCAgent() async {
        guard let agent = Spawn.which("oidc-agent"), let gen = Spawn.which("oidc-gen"), let token = Spawn.which("oidc-token")
        else {
            notice("oidc-agent-cli is not installed (apt-get install oidc-agent-cli): the oidc-agent baseline is NOT measured")
            return
        }
        let home = directory + "/oidc"
        try? FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let socket = home + "/agent.sock"
        var env = baseEnvironment()
        env["OIDC_CONFIG_DIR"] = home
        env["OIDC_ENCRYPTION_PW"] = "test-only"
        env["OIDC_SOCK"] = socket
        // `-d` keeps the agent in the foreground; it forks once and both processes block SIGTERM and
        // SIGINT, so they run in a process group of their own, which `timeout -s KILL` (should this
        // process die first) or `Spawn.stop` ends with SIGKILL.
        let lifetime = String(Int(max(600, Double(settings.runs) * 4)))
        guard let timeout = Spawn.which("timeout"),
              let pid = Spawn.background(timeout, ["-s", "KILL", lifetime, agent, "-d", "--quiet", "-a", socket], environment: env,
                                         stderrPath: home + "/agent.log")
        else {
            notice("oidc-agent did not start: the oidc-agent baseline is NOT measured")
            return
        }
        defer {
            oidcSessionsBeforeStop = sessionsAlive(.oidcAgent)
            Spawn.stop(pid)
        }
        let ready = Monotonic.now() + 10
        while access(socket, F_OK) != 0 && Monotonic.now() < ready { usleep(5_000) }
        let user = BenchUser.oidcAgent
        let generated = Spawn.run(gen, [
            "emu", "--iss=\(simulator.baseURL)/auth/realms/master/", "--client-id=ocp", "--client-secret=",
            "--flow=password", "--op-username=\(user.rawValue)", "--op-password=\(user.password)",
            "--scope=openid profile", "--pw-env", "--confirm-default", "--no-url-call", "--prompt=none", "--no-save",
        ], environment: env, timeout: 60, stderrPath: home + "/gen.log")
        guard generated.succeeded else {
            let log = (try? String(contentsOfFile: home + "/gen.log", encoding: .utf8)) ?? ""
            notice("oidc-gen failed (exit \(generated.status): \(generated.stdout.prefix(200)) \(log.prefix(200))): the oidc-agent baseline is NOT measured")
            return
        }
        progress("oidc-agent: \(simulator.liveSessions(username: user.rawValue).count) online and \(simulator.offlineSessions(username: user.rawValue).count) offline session(s) of \(user.rawValue) after oidc-gen")
        for (name, arguments) in [("oidc-token (cached)", ["emu"]), ("oidc-token --time=600 (forced refresh)", ["--time=600", "emu"])] {
            for callers in [1, 8] {
                progress("\(name): \(settings.runs) runs, \(callers) caller(s)")
                await countingIAM("\(name), \(callers) caller(s)") {
                    let (measurement, tokens) = await timeCommand(
                        name, token, arguments, environment: env, callers: callers, runs: settings.runs,
                        accept: Self.looksLikeToken)
                    report.baselines.append(measurement)
                    return tokens
                }
            }
        }
    }
}

extension Spawn {
    /// Starts a long-lived child in a new process group (stdout and stderr to `stderrPath`); stop
    /// it, and whatever it forked, with `stop`.
    static func background(_ path: String, _ arguments: [String], environment: [String: String], stderrPath: String) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let (argv, envp) = cStrings(path, arguments, environment)
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        spawnLock.lock()
        defer { spawnLock.unlock() }
        return posix_spawn(&pid, path, &actions, &attributes, argv, envp) == 0 ? pid : nil
    }

    /// SIGTERM to the child's process group, SIGKILL to it after half a second, and reaps the child.
    static func stop(_ pid: pid_t) {
        kill(-pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<50 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(10_000)
        }
        // The group outlives its leader when the leader forked (oidc-agent does).
        kill(-pid, SIGKILL)
        _ = waitpid(pid, &status, WNOHANG)
    }
}
