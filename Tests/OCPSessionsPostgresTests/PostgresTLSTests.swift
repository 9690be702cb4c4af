import Foundation
import Testing
import PostgresNIO
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// TLS to the database as libpq's `sslmode` and `sslrootcert` ask: the test makes a CA and a server
/// certificate with `openssl`, turns `ssl` on in the test cluster (a reload, no restart), and
/// turns it off again. Part of the serialized cluster suite: the restart test must not run meanwhile.
enum PostgresTLSFixtures {

    /// Runs `openssl` (a short tool) and fails the test if it does.
    static func openssl(_ arguments: [String], in dir: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl \(arguments.first ?? "") failed")
    }

    /// A self-signed CA, `name`.crt and `name`.key, in `dir`.
    static func makeCA(_ name: String, in dir: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2", "-subj", "/CN=\(name)"], in: dir)
    }

    /// server.key and server.crt for 127.0.0.1 and localhost, signed by the CA `ca`.
    static func makeServerCertificate(signedBy ca: String, in dir: String) throws {
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: dir + "/san.ext", atomically: false, encoding: .utf8)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: dir)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-CAcreateserial",
                     "-out", "server.crt", "-days", "2", "-extfile", "san.ext"], in: dir)
    }

    /// Runs `sql` as the test cluster's administrator.
    static func admin(_ sql: String) throws -> PostgresQueryResult {
        let settings = try PostgresRegistrySettings(url: try #require(TestCluster.url), environment: ProcessInfo.processInfo.environment)
        return try PostgresConnectionBridge(settings: settings).execute(PostgresQuery(unsafeSQL: sql))
    }

}

extension PostgresRegistryTests {
    @Test("verify-full and verify-ca against the test's CA connect over TLS; a wrong CA fails naming TLS; disable stays plain")
    func sslModes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ocp-pg-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PostgresTLSFixtures.makeCA("test-ca", in: dir)
        try PostgresTLSFixtures.makeCA("wrong-ca", in: dir)
        try PostgresTLSFixtures.makeServerCertificate(signedBy: "test-ca", in: dir)
        // The server reads its key as its own user, and refuses a key others can read.
        let dataDirectory = try #require(try PostgresTLSFixtures.admin("SHOW data_directory").rows.first?.decode(String.self))
        var owner = stat()
        try #require(stat(dataDirectory, &owner) == 0)
        chmod(dir, 0o755)
        for file in ["server.key", "server.crt"] {
            chmod(dir + "/" + file, 0o600)
            if getuid() == 0 { chown(dir + "/" + file, owner.st_uid, owner.st_gid) }
        }
        _ = try PostgresTLSFixtures.admin("ALTER SYSTEM SET ssl_cert_file = '\(dir)/server.crt'")
        _ = try PostgresTLSFixtures.admin("ALTER SYSTEM SET ssl_key_file = '\(dir)/server.key'")
        _ = try PostgresTLSFixtures.admin("ALTER SYSTEM SET ssl = on")
        _ = try PostgresTLSFixtures.admin("SELECT pg_reload_conf()")
        defer {
            _ = try? PostgresTLSFixtures.admin("ALTER SYSTEM RESET ssl")
            _ = try? PostgresTLSFixtures.admin("ALTER SYSTEM RESET ssl_cert_file")
            _ = try? PostgresTLSFixtures.admin("ALTER SYSTEM RESET ssl_key_file")
            _ = try? PostgresTLSFixtures.admin("SELECT pg_reload_conf()")
        }
        // The reload is asynchronous: wait until a new connection is offered TLS.
        let base = try TestCluster.makeDatabase()
        defer { TestCluster.drop(base) }
        let url = "postgres://\(base.user)@\(base.host):\(base.port)/\(base.database)"
        func usesTLS(_ query: String) throws -> Bool {
            let settings = try PostgresRegistrySettings(url: url + query, environment: ProcessInfo.processInfo.environment)
            let registry = try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": key])
            return try registry.withBridge {
                try $0.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows.first?.decode(Bool.self)
            } ?? false
        }
        let deadline = Date().addingTimeInterval(10)
        while (try? usesTLS("?sslmode=require")) != true, Date() < deadline { usleep(50_000) }
        #expect(try usesTLS("?sslmode=require"))
        #expect(try usesTLS("?sslmode=verify-full&sslrootcert=\(dir)/test-ca.crt&connect_timeout=5"))
        #expect(try usesTLS("?sslmode=verify-ca&sslrootcert=\(dir)/test-ca.crt"))
        #expect(try usesTLS("?sslmode=prefer"))
        #expect(try !usesTLS("?sslmode=disable"))
        for mode in ["verify-full", "verify-ca", "require"] {
            let refusal = #expect(throws: RegistryError.self, "\(mode) with the wrong CA") {
                _ = try usesTLS("?sslmode=\(mode)&sslrootcert=\(dir)/wrong-ca.crt")
            }
            let message = refusal?.description ?? ""
            #expect(message.contains("TLS"), "\(message)")
            #expect(!message.contains("\n"), "\(message)")
        }
        // A missing root file is named, before any connection.
        let missing = #expect(throws: RegistryError.self) {
            _ = try usesTLS("?sslmode=verify-full&sslrootcert=\(dir)/absent.crt")
        }
        #expect(missing?.description.contains("absent.crt") == true, "\(String(describing: missing))")
    }
}
