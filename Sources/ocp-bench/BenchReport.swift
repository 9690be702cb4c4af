/// Everything one run measured: the table and `--json` are both rendered from this.
struct BenchReport: Codable, Sendable {
    var settings: Settings
    var warmPath: Latency?
    var processes: [ProcessRow] = []
    var cli: [Measurement] = []
    var baselines: [Measurement] = []
    var floors: [Measurement] = []
    var ratios: [Ratio] = []
    var iamLoad: [IAMLoad] = []
    var sessionsAlive: [SessionsAlive] = []
    var ageing: [AgeingRow] = []
    var backends: [BackendRow] = []
    var targets: [Target] = []
    var notices: [String] = []

    enum CodingKeys: String, CodingKey {
        case settings, warmPath = "warm_path", processes, cli, baselines, floors, ratios, iamLoad = "iam_load"
        case sessionsAlive = "sessions_alive", ageing, backends, targets, notices
    }

    struct Settings: Codable, Sendable {
        var loginCostSeconds: Double
        var cycles: Int
        var runs: Int
        var quick: Bool
        var cores: Int
        var ocpSessions: String
        var ocpSessionsStatic: Bool
        var retention: String
        var loadAverageAtStart: String
        var loadAverageAtEnd: String = ""

        enum CodingKeys: String, CodingKey {
            case loginCostSeconds = "login_cost_s", cycles, runs, quick, cores, ocpSessions = "ocp_sessions"
            case ocpSessionsStatic = "ocp_sessions_static", retention = "event_retention"
            case loadAverageAtStart = "load_average_at_start", loadAverageAtEnd = "load_average_at_end"
        }
    }

    /// Phase 2: N processes on one registry.
    struct ProcessRow: Codable, Sendable {
        var processes: Int
        /// The account's session limit (5, or 16 in the diagnostic row).
        var maxSessions: Int
        var cyclesPerSecond: Double
        var wait: Latency
        var busyRetries: Int
        var failures: Int

        enum CodingKeys: String, CodingKey {
            case processes, maxSessions = "max_sessions", cyclesPerSecond = "cycles_per_second", wait, busyRetries = "busy_retries", failures
        }
    }

    /// A timed workload: `callers` at once, each call timed on its own.
    struct Measurement: Codable, Sendable {
        var name: String
        var callers: Int
        var latency: Latency
        var failures: Int

        /// Aggregate calls per second with all callers.
        var perSecond: Double { latency.perSecond }
    }

    /// Ours against another figure: `ratio` = ours / theirs (below 1: we are faster).
    struct Ratio: Codable, Sendable {
        var what: String
        var oursMs: Double
        var theirsMs: Double
        var ratio: Double

        enum CodingKeys: String, CodingKey { case what, oursMs = "ours_ms", theirsMs = "theirs_ms", ratio }
    }

    /// IAM requests a workload caused, from the simulator's counters.
    struct IAMLoad: Codable, Sendable {
        var workload: String
        var tokens: Int
        var logins: Int
        var refreshes: Int
        var logouts: Int

        func per1000(_ count: Int) -> Double { tokens > 0 ? Double(count) * 1000 / Double(tokens) : 0 }

        enum CodingKeys: String, CodingKey { case workload, tokens, logins, refreshes, logouts }
    }

    struct SessionsAlive: Codable, Sendable {
        var who: String
        var user: String
        var atEnd: Int
        var afterCleanup: Int?
        var cleanup: String

        enum CodingKeys: String, CodingKey { case who, user, atEnd = "at_end", afterCleanup = "after_cleanup", cleanup }
    }

    struct AgeingRow: Codable, Sendable {
        var historySessions: Int
        var eventsBefore: Int
        var eventsAfter: Int
        var latency: Latency

        enum CodingKeys: String, CodingKey {
            case historySessions = "history_sessions", eventsBefore = "events_before", eventsAfter = "events_after", latency
        }
    }

    /// Phase 7: one registry backend (issue 7).
    struct BackendRow: Codable, Sendable {
        var backend: String
        /// Warm acquire + release in one process.
        var warm: Latency
        /// 8 worker processes on 5 sessions.
        var processes: ProcessRow?
        /// From a release to the waiting caller (another connection) holding the session.
        var wakeUp: Latency

        enum CodingKeys: String, CodingKey { case backend, warm, processes, wakeUp = "wake_up" }
    }

    /// One of issue 6's targets. `met` is nil when it could not be measured in this run.
    struct Target: Codable, Sendable {
        var target: String
        var measured: String
        var met: Bool?
    }
}
