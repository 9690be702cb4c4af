import Foundation
import KeycloakSimulator
import Testing

@Suite("TLS end to end: the CLI against the simulator's HTTPS listener")
struct TLSEndToEndTests {
    @Test("token over https with --ca-file works; without it one clear TLS line, exit 78; http:// to a non-loopback host is refused before any request")
    func tokenOverTLS() async throws {
        try await withCLI("tls-e2e", { config in
            config.tls = SimulatorTLS(
                certificateChainPEM: KeycloakTestCertificates.serverPEM, privateKeyPEM: KeycloakTestCertificates.serverKeyPEM)
        }) { simulator, cli in
            #expect(simulator.baseURL.hasPrefix("https://localhost:"))
            let caFile = cli.directory + "/ca.pem"
            try Data(KeycloakTestCertificates.caPEM.utf8).write(to: URL(fileURLWithPath: caFile))

            let token = try await cli.run(["token", "--host", simulator.baseURL, "--ca-file", caFile])
            #expect(token.status == 0, "\(token.stderr)")
            #expect(token.stdout.split(separator: ".").count == 3, "a JWT on stdout")
            #expect(simulator.statistics().logins == 1)
            // Through the environment too, and reusing the session.
            #expect(try await cli.run(["token"], env: ["OCP_CA_FILE": caFile]).status == 0)

            // The system trust store does not know the test CA: one line, the TLS problem named.
            let untrusted = try await cli.run(["token", "--host", simulator.baseURL, "--force-refresh", "--wait", "5"])
            SecurityCheck.expectOneLineFailure(untrusted, 78, "TLS")

            // Plain http:// to a host that is not loopback is refused before anything is sent: the
            // address is unroutable (TEST-NET-1), so a request would hang until --wait, not fail at once.
            let attempts = simulator.statistics().loginAttempts
            let started = Date()
            let plain = try await cli.run(["token", "--host", "http://192.0.2.1:8080", "--wait", "30"])
            SecurityCheck.expectOneLineFailure(plain, 78, "https")
            #expect(Date().timeIntervalSince(started) < 20)
            #expect(simulator.statistics().loginAttempts == attempts)
            print("tls: token ok with --ca-file; without: \(untrusted.stderr.trimmingCharacters(in: .newlines)); http: \(plain.stderr.trimmingCharacters(in: .newlines))")
        }
    }
}
