import Foundation
import Testing

/// The README's first command, as CI can afford it: `simulate` on the debug build, two seconds.
@Suite("simulate")
struct SimulateCommandTests {
    @Test("simulate --duration 2s --json: the ocp-sessions column never passes the limit; the naive one trips it")
    func simulateTable() async throws {
        let dir = TestPaths.temporaryDirectory("ocp-simulate")
        defer { TestPaths.remove(dir) }
        let result = try await exclusively {
            try await CLI(directory: dir, simulator: nil).run(["simulate", "--duration", "2s", "--json"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(result.json as? [String: Any])
        #expect(report["limit"] as? Int == 5)
        #expect(report["workers"] as? Int == 12)
        #expect(report["within_limit"] as? Bool == true)
        let ours = try #require(report["ocp_sessions"] as? [String: Any])
        #expect((ours["max_sessions"] as? Int ?? 99) <= 5)
        #expect(ours["denials"] as? Int == 0)
        #expect(ours["terminations"] as? Int == 0)
        #expect(ours["dead_token_calls"] as? Int == 0)
        #expect(ours["calls_failed"] as? Int == 0)
        #expect((ours["calls_ok"] as? Int ?? 0) > 0)
        #expect((ours["logins"] as? Int ?? 99) <= 5)
        let naive = try #require(report["naive"] as? [String: Any])
        #expect((naive["denials"] as? Int ?? 0) > 0)
        #expect((naive["calls_failed"] as? Int ?? 0) > 0)
    }

    @Test("simulate refuses bad flags with exit 64 and one line")
    func badFlags() async throws {
        let cli = CLI(directory: NSTemporaryDirectory(), simulator: nil)
        for arguments in [["--workers", "0"], ["--duration", "forever"], ["--behavior", "random"], ["--faults", "2"], ["--limit", "0"]] {
            let result = try await cli.run(["simulate"] + arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
    }
}
