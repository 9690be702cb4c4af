import Foundation
import Testing

@testable import OCPSessions

@Suite("Keycloak HTTP transport (loopback)")
struct KeycloakHTTPTransportTests {
    private static func json(_ status: Int, _ body: String) -> KeycloakLoopbackServer.Reply {
        .respond(status: status, headers: [KeycloakHTTPHeader("Content-Type", "application/json")], body: Array(body.utf8))
    }

    @Test("POST form and read the answer")
    func roundTrip() async throws {
        try await withKeycloakLoopbackServer({ _ in Self.json(401, #"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#) }) { server in
            try await withKeycloakTransport { transport in
                let response = try await transport.send(KeycloakHTTPRequest(
                    method: .post, url: server.baseURL + "/realms/a/protocol/openid-connect/token",
                    headers: [KeycloakHTTPHeader("Accept", "application/json"), KeycloakHTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
                    body: KeycloakFormEncoding.encode([("password", "ä &=+")])
                ))
                #expect(response.status == 401)
                #expect(response.header("content-type") == "application/json")
                #expect(String(decoding: response.body, as: UTF8.self).contains("invalid_grant"))
                let received = try #require(server.received.first)
                #expect(received.method == "POST")
                #expect(received.uri == "/realms/a/protocol/openid-connect/token")
                #expect(keycloakDecodeForm(received.body).first?.1 == "ä &=+")
            }
        }
    }

    @Test("a body over the limit is abandoned and flagged")
    func bodyLimit() async throws {
        try await withKeycloakLoopbackServer({ _ in .respond(status: 200, headers: [], body: Array(repeating: 0x41, count: 200_000)) }) { server in
            try await withKeycloakTransport(.init(maxBodyBytes: 1024)) { transport in
                let response = try await transport.send(KeycloakHTTPRequest(method: .get, url: server.baseURL + "/x"))
                #expect(response.status == 200)
                #expect(response.bodyExceededLimit)
                #expect(response.body.isEmpty)
                #expect(KeycloakResponseClassifier.classify(response, for: .login) != .done)
            }
        }
    }

    @Test("connection refused: not sent")
    func refused() async throws {
        // Take a free port, then close it.
        let server = try await KeycloakLoopbackServer.start { _ in .close }
        let port = server.port
        await server.stop()
        try await withKeycloakTransport { transport in
            let failure = await #expect(throws: KeycloakTransportFailure.self) {
                try await transport.send(KeycloakHTTPRequest(method: .post, url: "http://127.0.0.1:\(port)/token", body: [1]))
            }
            guard case .notSent = failure else { Issue.record("got \(String(describing: failure))"); return }
        }
    }

    @Test("connection closed after the request: sent without answer")
    func closedAfterSend() async throws {
        try await withKeycloakLoopbackServer({ _ in .close }) { server in
            try await withKeycloakTransport { transport in
                let failure = await #expect(throws: KeycloakTransportFailure.self) {
                    try await transport.send(KeycloakHTTPRequest(method: .post, url: server.baseURL + "/token", body: Array("a=b".utf8)))
                }
                guard case .sentWithoutAnswer = failure else { Issue.record("got \(String(describing: failure))"); return }
            }
        }
    }

    @Test("deadline after the request: sent without answer")
    func timeout() async throws {
        try await withKeycloakLoopbackServer({ _ in .hang }) { server in
            try await withKeycloakTransport(.init(requestTimeout: .milliseconds(300))) { transport in
                let started = ContinuousClock.now
                let failure = await #expect(throws: KeycloakTransportFailure.self) {
                    try await transport.send(KeycloakHTTPRequest(method: .post, url: server.baseURL + "/token", body: [1]))
                }
                guard case .sentWithoutAnswer = failure else { Issue.record("got \(String(describing: failure))"); return }
                #expect(ContinuousClock.now - started < .seconds(10))  // far below any default; wide for a loaded machine
            }
        }
    }

    @Test("per-request timeout overrides the default")
    func perRequestTimeout() async throws {
        try await withKeycloakLoopbackServer({ _ in .hang }) { server in
            try await withKeycloakTransport(.init(requestTimeout: .seconds(30))) { transport in
                let started = ContinuousClock.now
                await #expect(throws: KeycloakTransportFailure.self) {
                    try await transport.send(KeycloakHTTPRequest(method: .get, url: server.baseURL + "/x", timeout: .milliseconds(200)))
                }
                #expect(ContinuousClock.now - started < .seconds(10))  // the default is 30 s
            }
        }
    }

    @Test("the URL policy is enforced by the transport too")
    func policy() async throws {
        try await withKeycloakTransport { transport in
            let failure = await #expect(throws: KeycloakTransportFailure.self) {
                try await transport.send(KeycloakHTTPRequest(method: .get, url: "http://sso.example.com/x"))
            }
            guard case .configuration = failure else { Issue.record("got \(String(describing: failure))"); return }
        }
    }

    @Test("requests after shutdown fail as not sent")
    func afterShutdown() async throws {
        let transport = try KeycloakHTTPTransport()
        await transport.shutdown()
        await transport.shutdown()
        let failure = await #expect(throws: KeycloakTransportFailure.self) {
            try await transport.send(KeycloakHTTPRequest(method: .get, url: "http://127.0.0.1:9/x"))
        }
        guard case .notSent = failure else { Issue.record("got \(String(describing: failure))"); return }
    }

    @Test("TLS: untrusted certificate fails fast as a TLS error; the CA file fixes it")
    func tls() async throws {
        let context = try KeycloakTestCertificates.serverContext()
        try await withKeycloakLoopbackServer(tls: context, { _ in Self.json(200, "{}") }) { server in
            let url = "https://127.0.0.1:\(server.port)/x"
            try await withKeycloakTransport { transport in
                let started = ContinuousClock.now
                let failure = await #expect(throws: KeycloakTransportFailure.self) {
                    try await transport.send(KeycloakHTTPRequest(method: .get, url: url))
                }
                guard case .tls = failure else { Issue.record("got \(String(describing: failure))"); return }
                #expect(ContinuousClock.now - started < .seconds(5))  // no retries until a timeout
                #expect(KeycloakResponseClassifier.classify(failure!, for: .login).kind == .configuration)
            }
            let caFile = try KeycloakTestCertificates.temporaryFile(KeycloakTestCertificates.caPEM)
            defer { try? FileManager.default.removeItem(atPath: caFile) }
            try await withKeycloakTransport(.init(caFile: caFile)) { transport in
                let response = try await transport.send(KeycloakHTTPRequest(method: .get, url: url))
                #expect(response.status == 200)
                let named = try await transport.send(KeycloakHTTPRequest(method: .get, url: "https://localhost:\(server.port)/y"))
                #expect(named.status == 200)
            }
        }
    }

    @Test("https:// to a plain HTTP server is a TLS error")
    func tlsToPlain() async throws {
        try await withKeycloakLoopbackServer({ _ in Self.json(200, "{}") }) { server in
            try await withKeycloakTransport { transport in
                let failure = await #expect(throws: KeycloakTransportFailure.self) {
                    try await transport.send(KeycloakHTTPRequest(method: .get, url: "https://127.0.0.1:\(server.port)/x"))
                }
                guard case .tls = failure else { Issue.record("got \(String(describing: failure))"); return }
            }
        }
    }

    @Test("bad CA files are configuration errors at creation")
    func badCAFile() throws {
        let garbage = try KeycloakTestCertificates.temporaryFile("not a certificate")
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        for path in ["/nonexistent/ca.pem", garbage] {
            let error = #expect(throws: IdPError.self) { try KeycloakHTTPTransport(configuration: .init(caFile: path)) }
            #expect(error?.kind == .configuration)
        }
    }

    @Test("an HTTP proxy from the environment is used (CONNECT for https)")
    func proxy() async throws {
        // The "proxy" answers CONNECT with 403, which proves the request went to it.
        try await withKeycloakLoopbackServer({ request in
            request.method == "CONNECT" ? .respond(status: 403, headers: [], body: []) : .respond(status: 500, headers: [], body: [])
        }) { proxy in
            let settings = KeycloakSettings(host: "https://sso.example.invalid", realm: "a", clientID: "c")
            let transport = try settings.makeTransport(environment: ["https_proxy": "http://127.0.0.1:\(proxy.port)"])
            let failure = await #expect(throws: KeycloakTransportFailure.self) {
                try await transport.send(KeycloakHTTPRequest(method: .get, url: "https://sso.example.invalid/x"))
            }
            await transport.shutdown()
            guard case .notSent = failure else { Issue.record("got \(String(describing: failure))"); return }
            #expect(proxy.received.first?.uri == "sso.example.invalid:443")
        }
    }
}
