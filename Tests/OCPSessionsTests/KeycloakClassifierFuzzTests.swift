import Testing

@testable import OCPSessions

/// A quick in-process fuzz pass (the dedicated fuzzer runs far more): mutated Keycloak answers
/// must always classify, with a one-line message.
@Suite("Keycloak classifier fuzz smoke")
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
