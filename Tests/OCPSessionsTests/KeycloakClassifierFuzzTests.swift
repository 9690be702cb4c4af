import Foundation
import Testing

@testable import OCPSessions

/// Seeded in-process fuzzing of everything the IAM can send back: mutated Keycloak answers must
/// always classify, with a one-line message, and through the client map to a documented error
/// class or a sane token set, with no crash and no hang.
@Suite("Keycloak classifier fuzz")
struct KeycloakClassifierFuzzTests {
    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let seeds: [String] = [
        KeycloakFixtures.tokenBody(),
        KeycloakFixtures.tokenBody(sessionState: nil),
        #"{"error":"invalid_grant","error_description":"Session not active"}"#,
        #"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#,
        #"{"error":"invalid_grant","error_description":"Account disabled"}"#,
        #"{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}"#,
        #"{"error":"invalid_request","error_description":"Missing parameter: username"}"#,
        #"{"error":"unknown_error"}"#,
        #"{"error":"There are too many sessions"}"#,
        #"{"error":"Realm does not exist"}"#,
        #"[{"id":"s1","started":1700000000,"lastAccess":1700000100,"clients":[{"clientId":"c"}]}]"#,
        KeycloakFixtures.discoveryBody(base: "https://kc.example.com"),
        "<html>Error</html>",
    ]

    static let statuses = [200, 201, 204, 302, 400, 401, 403, 404, 429, 500, 502, 503, 504, 0, -1, 99, 1000, Int.max, Int.min]

    @Test("10k mutated answers never trap")
    func mutations() throws {
        var rng = Rng(state: 0x9E37_79B9_7F4A_7C15)
        let interesting: [[UInt8]] = [[0], [0xff], [0xc3], Array("\\u0000".utf8), Array("1e999".utf8), Array("-0".utf8),
            Array("\"".utf8), Array("{".utf8), Array("[".utf8), Array("\u{202e}".utf8), Array("\n".utf8)]
        for i in 0..<10_000 {
            var body = Array(Self.seeds[rng.below(Self.seeds.count)].utf8)
            for _ in 0..<(1 + rng.below(8)) {
                let at = rng.below(body.count + 1)
                switch rng.below(4) {
                case 0 where !body.isEmpty: body[min(at, body.count - 1)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: body.insert(contentsOf: interesting[rng.below(interesting.count)], at: at)
                case 2 where !body.isEmpty: body.removeSubrange(min(at, body.count - 1)..<min(body.count, at + rng.below(16) + 1))
                default: body.insert(contentsOf: body[0..<min(at, body.count)].prefix(64), at: at)
                }
            }
            let status = Self.statuses[rng.below(Self.statuses.count)]
            let headers = i % 3 == 0 ? [KeycloakHTTPHeader("WWW-Authenticate", String(decoding: body.prefix(200), as: UTF8.self))] : []
            let response = KeycloakHTTPResponse(status: status, headers: headers, body: body)
            for op in KeycloakOperation.allCases {
                if case .failure(let error) = KeycloakResponseClassifier.classify(response, for: op) {
                    #expect(!error.message.contains("\n"), "case \(i)")
                }
            }
            _ = try? KeycloakDiscovery.interpret(response, host: "https://kc", realm: "r")
        }
    }

    @Test("pathological bodies")
    func pathological() {
        let bodies: [[UInt8]] = [
            Array(repeating: UInt8(ascii: "["), count: 1 << 20),
            Array(repeating: UInt8(ascii: "{"), count: 100_000),
            Array(("{\"a\":" + String(repeating: "{\"a\":", count: 50_000)).utf8),
            Array(repeating: 0xff, count: 4096),
            Array(#"{"access_token":"\#(String(repeating: "x", count: 900_000))","refresh_token":"r","expires_in":1,"refresh_expires_in":1}"#.utf8),
        ]
        for body in bodies {
            for status in [200, 400, 401, 403, 404, 500] {
                for op in KeycloakOperation.allCases {
                    _ = KeycloakResponseClassifier.classify(KeycloakHTTPResponse(status: status, body: body), for: op)
                }
            }
        }
    }
}

/// One fuzz case: an operation and the mutated answer (or transport failure) it meets.
struct KeycloakFuzzCase: Sendable {
    var operation: KeycloakOperation
    var reply: KeycloakCannedTransport.Reply
    var mutatedHeaders: Bool
    var truncated: Bool
}

extension KeycloakClassifierFuzzTests {
    /// What the client makes of one case: `error:KIND` for a documented error class, or
    /// `tokens`, `sessions`, `done`.
    typealias Verdict = String

    static func verdict(_ kind: IdPError.Kind) -> Verdict { "error:\(kind)" }

    static let seedJWT = KeycloakFixtures.jwt()

    /// Builds `count` cases from the seeds: body mutations (flips, inserts, deletions,
    /// duplications), truncations at any byte, random and odd status codes, mutated headers
    /// (content type, challenge, location, retry-after, length, duplicates, huge and non-ASCII
    /// values), the over-limit flag, and transport failures.
    static func fuzzCases(count: Int, seed: UInt64) -> [KeycloakFuzzCase] {
        var rng = Rng(state: seed)
        let interesting: [[UInt8]] = [[0], [0xff], [0xc3], Array("\\u0000".utf8), Array("1e999".utf8), Array("-1".utf8),
            Array("\"".utf8), Array("{".utf8), Array("[".utf8), Array("\u{202e}".utf8), Array("\r\n".utf8), Array(" ".utf8),
            Array("null".utf8), Array("\"expires_in\":-5,".utf8), Array("\"session_state\":\"a/b\",".utf8)]
        let headerValues = ["application/json", "text/html", "application/json; charset=utf-16", "", "\u{0}", "ä",
            String(repeating: "x", count: 8192), "Bearer error=\"invalid_token\"", "Bearer ,,,,=\"", "-1", "99999999999999999999",
            "https://evil.example.com/login", "javascript:alert(1)", "\r\nX-Injected: 1"]
        let headerNames = ["Content-Type", "WWW-Authenticate", "Location", "Retry-After", "Content-Length", "Set-Cookie", "X-Junk"]
        let statuses = Self.statuses + [200, 200, 200, 400, 401]
        var cases: [KeycloakFuzzCase] = []
        cases.reserveCapacity(count)
        for _ in 0..<count {
            let operation = KeycloakOperation.allCases.filter { $0 != .discovery }[rng.below(5)]
            if rng.below(20) == 0 {
                let text = String(decoding: Array(Self.seeds[rng.below(Self.seeds.count)].utf8.prefix(rng.below(300))), as: UTF8.self)
                let failures: [KeycloakTransportFailure] = [.notSent(text), .sentWithoutAnswer(text), .tls(text), .configuration(text)]
                cases.append(KeycloakFuzzCase(operation: operation, reply: .failure(failures[rng.below(4)]), mutatedHeaders: false, truncated: false))
                continue
            }
            var body = Array(Self.seeds[rng.below(Self.seeds.count)].utf8)
            for _ in 0..<rng.below(6) {
                let at = rng.below(body.count + 1)
                switch rng.below(4) {
                case 0 where !body.isEmpty: body[min(at, body.count - 1)] = UInt8(truncatingIfNeeded: rng.next())
                case 1: body.insert(contentsOf: interesting[rng.below(interesting.count)], at: at)
                case 2 where !body.isEmpty: body.removeSubrange(min(at, body.count - 1)..<min(body.count, at + rng.below(16) + 1))
                default: body.insert(contentsOf: body[0..<min(at, body.count)].prefix(64), at: at)
                }
            }
            let truncated = rng.below(4) == 0
            if truncated { body = Array(body.prefix(rng.below(body.count + 1))) }
            var headers: [KeycloakHTTPHeader] = []
            let mutatedHeaders = rng.below(2) == 0
            if mutatedHeaders {
                for _ in 0..<(1 + rng.below(4)) {
                    let value = rng.below(4) == 0
                        ? String(decoding: body.prefix(rng.below(300)), as: UTF8.self) : headerValues[rng.below(headerValues.count)]
                    headers.append(KeycloakHTTPHeader(headerNames[rng.below(headerNames.count)], value))
                }
            }
            let status = rng.below(10) == 0 ? Int(truncatingIfNeeded: Int64(bitPattern: rng.next()) % 2000) : statuses[rng.below(statuses.count)]
            let response = KeycloakHTTPResponse(status: status, headers: headers, body: body, bodyExceededLimit: rng.below(50) == 0)
            cases.append(KeycloakFuzzCase(operation: operation, reply: .success(response), mutatedHeaders: mutatedHeaders, truncated: truncated))
        }
        return cases
    }

    /// Runs one case through `KeycloakClient` and checks what came back; returns its verdict.
    static func run(_ fuzzCase: KeycloakFuzzCase, index: Int) async -> Verdict {
        let reply = fuzzCase.reply
        let client = KeycloakClient(endpoints: KeycloakFixtures.endpoints, clientID: "ocp", transport: KeycloakCannedTransport { _ in reply })
        do {
            switch fuzzCase.operation {
            case .login, .refresh:
                let tokens = fuzzCase.operation == .login
                    ? try await client.login(username: "alice", password: Secret("pw"))
                    : try await client.refresh(refreshToken: "refresh")
                #expect(KeycloakResponseClassifier.isPlausibleToken(tokens.accessToken) && !tokens.accessToken.isEmpty, "case \(index)")
                #expect(KeycloakResponseClassifier.isPlausibleToken(tokens.refreshToken) && !tokens.refreshToken.isEmpty, "case \(index)")
                #expect(KeycloakResponseClassifier.isPlausibleSessionID(tokens.sessionState) && !tokens.sessionState.isEmpty, "case \(index)")
                #expect(tokens.expiresIn.isFinite && tokens.expiresIn > 0 && tokens.expiresIn <= KeycloakResponseClassifier.maxLifetimeSeconds, "case \(index)")
                #expect(tokens.refreshExpiresIn.isFinite && tokens.refreshExpiresIn >= 0, "case \(index)")
                return "tokens"
            case .accountSessions:
                let sessions = try await client.accountSessions(accessToken: seedJWT)
                #expect(sessions.allSatisfy { !$0.id.isEmpty && $0.started.isFinite && $0.lastAccess.isFinite }, "case \(index)")
                return "sessions"
            case .logout:
                try await client.logout(refreshToken: "refresh")
                return "done"
            case .deleteAccountSession, .discovery:
                try await client.deleteAccountSession(id: "s1", accessToken: seedJWT)
                return "done"
            }
        } catch {
            // One line for people, bounded, free of control characters and of the tokens in the seeds.
            #expect(!error.message.isEmpty && error.message.count <= 600, "case \(index): \(error.message.count)")
            #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || $0 == "\u{202e}" }, "case \(index)")
            #expect(!error.message.contains(seedJWT) && !error.message.contains("c2lnbmF0dXJl"), "case \(index): \(error.message)")
            // Every class maps to a documented exit code.
            #expect([65, 69, 75, 77, 78].contains(OCPSessionsError.wrap(error).exitCode), "case \(index)")
            return verdict(error.kind)
        }
    }

    @Test("12,000 mutated answers (bodies, status codes, headers, truncations) through the client: documented classes only, no hang")
    func throughTheClient() async throws {
        let cases = Self.fuzzCases(count: 12_000, seed: 0x5EED_0F_1A_0CAFE)
        #expect(cases.count >= 10_000)
        #expect(cases.filter(\.mutatedHeaders).count >= 3000)
        #expect(cases.filter(\.truncated).count >= 2000)
        // A hang would never return: run on a separate task and give up waiting after a generous bound.
        let progress = FuzzProgress()
        // Not detached, so expectations inside are recorded against this test.
        let runner = Task {
            var verdicts: [Verdict: Int] = [:]
            for (index, fuzzCase) in cases.enumerated() {
                let verdict = await Self.run(fuzzCase, index: index)
                verdicts[verdict, default: 0] += 1
                progress.completed(index + 1)
            }
            return verdicts
        }
        let deadline = Date().addingTimeInterval(300)
        while progress.count < cases.count && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        guard progress.count == cases.count else {
            Issue.record("the client hung at fuzz case \(progress.count)")
            return
        }
        let verdicts = await runner.value
        #expect(verdicts.values.reduce(0, +) == cases.count)
        // The documented classes (IdPError.Kind) and nothing else; the seeds reach every one.
        let kinds: [IdPError.Kind] = [
            .credentialsRejected, .accountNotUsable, .sessionLimitDenied, .sessionDead, .unavailable(outcomeUnknown: false),
            .unavailable(outcomeUnknown: true), .malformedResponse, .configuration, .rejected,
        ]
        let documented = Set(kinds.map(Self.verdict) + ["tokens", "sessions", "done"])
        #expect(Set(verdicts.keys).isSubset(of: documented))
        #expect(Set(verdicts.keys) == documented, "classes never reached: \(documented.subtracting(verdicts.keys))")
    }
}

/// How many fuzz cases have finished, readable while they run.
final class FuzzProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    var count: Int { lock.withLock { done } }
    func completed(_ value: Int) { lock.withLock { done = value } }
}
