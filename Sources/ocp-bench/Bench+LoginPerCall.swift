import AsyncHTTPClient
import Foundation
import NIOCore

/// Baseline (a): what scripts do today, a password login per call and never a logout.
extension Bench {
    func measureLoginPerCall() async {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let url = tokenURL
        let form = "grant_type=password&client_id=ocp&username=\(BenchUser.loginPerCall.rawValue)&password=\(BenchUser.loginPerCall.password)"
        for callers in [1, 8] {
            progress("login per call over HTTP (in process): \(settings.runs) runs, \(callers) caller(s)")
            let perCaller = (settings.runs + callers - 1) / callers
            await countingIAM("password login per call (HTTP), \(callers) caller(s)") {
                let start = Monotonic.now()
                let results = await withTaskGroup(of: [(Double, Bool)].self) { group in
                    for _ in 0..<callers {
                        group.addTask {
                            var mine: [(Double, Bool)] = []
                            for _ in 0..<perCaller {
                                let began = Monotonic.now()
                                let ok = await Self.passwordLogin(http, url: url, form: form)
                                mine.append((Monotonic.now() - began, ok))
                            }
                            return mine
                        }
                    }
                    return await group.reduce(into: []) { $0 += $1 }
                }
                let wall = Monotonic.now() - start
                let failures = results.filter { !$0.1 }.count
                if failures > 0 { notice("login per call, \(callers) caller(s): \(failures) failed") }
                report.baselines.append(BenchReport.Measurement(
                    name: "password login per call (HTTP, in process)", callers: callers,
                    latency: Latency(samples: results.map(\.0), wall: wall), failures: failures))
                return results.count - failures
            }
        }
        try? await http.shutdown()
    }

    static func passwordLogin(_ http: HTTPClient, url: String, form: String) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        guard let response = try? await http.execute(request, timeout: .seconds(30)),
              let body = try? await response.body.collect(upTo: 1 << 20)
        else { return false }
        return response.status == .ok && String(buffer: body).contains("\"access_token\"")
    }

    /// The same as a script writes it: `curl` per call, 1 and 8 callers.
    func measureCurlLogin() async {
        guard let curl = Spawn.which("curl") else {
            notice("curl is not installed: the curl login-per-call baseline is not measured")
            return
        }
        let user = BenchUser.loginPerCall
        let arguments = [
            "-s", "--noproxy", "*", "-d", "grant_type=password", "-d", "client_id=ocp", "-d", "username=\(user.rawValue)",
            "-d", "password=\(user.password)", tokenURL,
        ]
        for callers in [1, 8] {
            progress("curl login per call: \(settings.runs) runs, \(callers) caller(s)")
            await countingIAM("password login per call (curl), \(callers) caller(s)") {
                let (measurement, tokens) = await timeCommand(
                    "password login per call (curl)", curl, arguments, environment: baseEnvironment(), callers: callers,
                    runs: settings.runs, warmup: 1, accept: { $0.contains("\"access_token\"") })
                report.baselines.append(measurement)
                return tokens
            }
        }
    }
}
