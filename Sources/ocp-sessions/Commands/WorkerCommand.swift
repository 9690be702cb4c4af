import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import OCPSessions

/// One OS process of a multi-process workload (used by `simulate` and the test suite): loops
/// acquire -> call a bearer-protected endpoint with the token -> release, then prints a JSON summary.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run acquire/use/release cycles against an IAM (used by simulate and the tests).",
        shouldDisplay: false
    )

    @OptionGroup var account: AccountOptions
    @Option(help: "Number of cycles (0: run for --duration).")
    var cycles: Int = 50
    @Option(help: "Seconds to run when --cycles is 0.")
    var duration: Double = 10
    @Option(name: .customLong("protected-url"), help: "Bearer-protected URL to call with each token.")
    var protectedURL: String?
    @Option(name: .customLong("hold-ms"), help: "Milliseconds to keep each lease.")
    var holdMilliseconds: Double = 0
    @Option(name: .customLong("min-validity"))
    var minValidity: Double = 30
    @Option var wait: Double = 60
    @Flag(help: "Log in for every call and never log out (what scripts do without ocp-sessions).")
    var naive = false
    @Flag(help: "Take shared leases.")
    var shared = false
    @Flag(name: .customLong("force-refresh"), help: "Refresh on every acquire.")
    var forceRefresh = false
    @Flag(name: .customLong("retry-unauthorized"),
          help: "On a 401 from --protected-url, ask the lease for a refreshed token once and call again.")
    var retryUnauthorized = false

    func validate() throws {
        guard (0...10_000_000).contains(cycles) else { throw ValidationError("--cycles must be between 0 and 10000000") }
        for (name, value, limit) in [("--duration", duration, 86_400.0), ("--hold-ms", holdMilliseconds, 3_600_000),
                                     ("--min-validity", minValidity, 86_400), ("--wait", wait, 86_400)] {
            guard value.isFinite, (0...limit).contains(value) else {
                throw ValidationError("\(name) must be between 0 and \(Int(limit))")
            }
        }
    }

    func run() async throws {
        try await CommandRunner.run { try await CommandContext.with(account) { context in
            let configuration = try context.settings.accountConfiguration()
            let options = LeaseOptions(minValidity: minValidity, waitTimeout: wait, label: "worker", shared: shared,
                                       forceRefresh: forceRefresh)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var summary = WorkerSummary()
            let start = Date()
            var cycle = 0
            while cycles > 0 ? cycle < cycles : Date().timeIntervalSince(start) < duration {
                cycle += 1
                let began = Date()
                // Declared outside the `do` so a failed call still gives its lease back.
                var lease: Lease?
                do {
                    var token: String
                    if naive {
                        token = try await NaiveLogin.login(configuration, http: http)
                    } else {
                        lease = try await context.pool.acquireLease(account: configuration, options: options)
                        token = lease!.accessToken
                    }
                    summary.tokenLatencies.append(Date().timeIntervalSince(began))
                    if let protectedURL {
                        var sentAt = Date().timeIntervalSince1970
                        var answer = try await call(protectedURL, token: token, http: http)
                        // A token handed out just before the IAM lost its session (a restart) is
                        // refused; a caller of `Lease.token(forceRefresh:)` gets a working one.
                        if answer.status == 401, retryUnauthorized, let held = lease {
                            summary.retriedUnauthorized += 1
                            token = try await held.token(forceRefresh: true)
                            sentAt = Date().timeIntervalSince1970
                            answer = try await call(protectedURL, token: token, http: http)
                        }
                        if answer.status == 200 {
                            summary.callsOK += 1
                        } else {
                            summary.callsFailed += 1
                            // Why, and how long the token had left when sent (a starved process
                            // can send a token after it expired), to tell a bug from a slow host.
                            let left = lease.map { String(format: "%.1f", $0.expiresAt - sentAt) } ?? "?"
                            summary.errors["protected URL answered HTTP \(answer.status) (\(answer.reason)), token had \(left)s left", default: 0] += 1
                        }
                    }
                    if holdMilliseconds > 0 { try await Task.sleep(nanoseconds: UInt64(holdMilliseconds * 1e6)) }
                } catch {
                    let wrapped = OCPSessionsError.wrap(error)
                    summary.errors[wrapped.message.prefix(80).description, default: 0] += 1
                    summary.callsFailed += 1
                    if lease == nil && !naive {
                        summary.acquireFailures.append(Date().timeIntervalSince(began))
                        summary.exitCodes[Int(wrapped.exitCode), default: 0] += 1
                    }
                }
                await lease?.release()
            }
            try? await http.shutdown()
            FileHandle.standardOutput.write(Data((summary.json + "\n").utf8))
        } }
    }

    /// GETs `url` with the token as bearer; the HTTP status and the challenge's `error_description`.
    private func call(_ url: String, token: String, http: HTTPClient) async throws -> (status: UInt, reason: String) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await http.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        let challenge = response.headers.first(name: "WWW-Authenticate") ?? ""
        let reason = challenge.components(separatedBy: "error_description=\"").dropFirst().first?
            .prefix { $0 != "\"" } ?? ""
        return (response.status.code, String(reason))
    }
}

struct WorkerSummary {
    var callsOK = 0
    var callsFailed = 0
    var tokenLatencies: [Double] = []
    var errors: [String: Int] = [:]
    /// Seconds from the start of each acquire that failed to its error.
    var acquireFailures: [Double] = []
    /// Exit code each failed acquire would have given `ocp-sessions token`, and how often.
    var exitCodes: [Int: Int] = [:]
    var retriedUnauthorized = 0

    var json: String {
        JSONOutput.object([
            ("calls_ok", .integer(callsOK)), ("calls_failed", .integer(callsFailed)),
            ("token_latencies", .array(tokenLatencies.map { .number($0) })),
            ("errors", .object(errors.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("acquire_failure_latencies", .array(acquireFailures.map { .number($0) })),
            ("acquire_failure_exit_codes",
             .object(exitCodes.sorted { $0.key < $1.key }.map { (String($0.key), .integer($0.value)) })),
            ("retried_unauthorized", .integer(retriedUnauthorized)),
        ])
    }
}

/// What scripts do today: a password login per call, never a logout.
enum NaiveLogin {
    static func login(_ account: AccountConfiguration, http: HTTPClient) async throws -> String {
        let url = "\(account.key.host)/auth/realms/\(account.key.realm)/protocol/openid-connect/token"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let password = try account.password.password().value
        let form = "grant_type=password&client_id=\(FormEncoding.encode(account.clientID))&username=\(FormEncoding.encode(account.key.username))&password=\(FormEncoding.encode(password))"
        request.body = .bytes(ByteBuffer(string: form))
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok,
              let object = try? JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any],
              let token = object["access_token"] as? String
        else {
            throw OCPSessionsError(.unavailable, "naive login failed with HTTP \(response.status.code)")
        }
        return token
    }
}

enum FormEncoding {
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
