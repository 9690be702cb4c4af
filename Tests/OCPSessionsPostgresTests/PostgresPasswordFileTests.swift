import Foundation
import Testing
@testable import OCPSessions
@testable import OCPSessionsPostgres

/// The database password's sources, as libpq reads them: `PGPASSWORD`, else `PGPASSFILE` or
/// `~/.pgpass` (docs/postgres-design.md, "--registry postgres://...").
@Suite("PostgreSQL password sources")
struct PostgresPasswordFileTests {
    func match(_ contents: String, host: String = "db.example", port: Int = 5432, database: String = "ocp",
               user: String = "ocp") -> String? {
        PostgresPasswordFile.match(contents, host: host, port: port, database: database, user: user)
    }

    @Test("first matching line wins; * matches any field; comments and short lines are skipped")
    func matching() {
        let file = """
            # a comment:with:five:fields:no
            short:line
            other.example:5432:ocp:ocp:wrong-host
            db.example:5433:ocp:ocp:wrong-port
            db.example:5432:ocp:ocp:exact
            *:*:*:*:wildcard
            """
        #expect(match(file) == "exact")
        #expect(match(file, host: "elsewhere") == "wildcard")
        #expect(match(file, port: 5433) == "wrong-port")
        #expect(match("*:*:*:ocp:only-user\n*:*:*:*:any\n", user: "someone") == "any")
        #expect(match("db.example:5432:ocp:ocp:crlf\r\n") == "crlf")
        #expect(match("db.example:5432:ocp:ocp:\n*:*:*:*:next\n") == nil, "an empty password is no password")
        #expect(match("") == nil)
    }

    @Test("\\: and \\\\ escape a colon and a backslash, in every field; an escaped * is literal")
    func escapes() {
        #expect(match("db.example:5432:ocp:ocp:pa\\:ss\\\\word\n") == "pa:ss\\word")
        #expect(match("db.example:5432:o\\:cp:ocp:secret\n", database: "o:cp") == "secret")
        #expect(match("\\*:5432:ocp:ocp:star\n") == nil)
        #expect(match("\\*:5432:ocp:ocp:star\n", host: "*") == "star")
        // The password ends at its first unescaped colon, as libpq reads it.
        #expect(match("db.example:5432:ocp:ocp:first:second\n") == "first")
    }

    @Test("PGPASSWORD first; then PGPASSFILE, read only when private, with one warning otherwise")
    func sources() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pgpass"
        try "db.example:5432:ocp:ocp:from-file\n".write(toFile: file, atomically: false, encoding: .utf8)
        var warnings: [String] = []
        func password(_ environment: [String: String]) -> String? {
            PostgresPasswordFile.password(host: "db.example", port: 5432, database: "ocp", user: "ocp",
                                          environment: environment, warn: { warnings.append($0) })
        }
        chmod(file, 0o600)
        #expect(password(["PGPASSWORD": "from-env", "PGPASSFILE": file]) == "from-env")
        #expect(password(["PGPASSWORD": "", "PGPASSFILE": file]) == "from-file")
        #expect(password(["HOME": dir + "/nowhere"]) == nil)
        #expect(warnings.isEmpty)
        // ~/.pgpass when PGPASSFILE is unset.
        try FileManager.default.copyItem(atPath: file, toPath: dir + "/.pgpass")
        chmod(dir + "/.pgpass", 0o600)
        #expect(password(["HOME": dir]) == "from-file")
        chmod(file, 0o640)
        #expect(password(["PGPASSFILE": file]) == nil)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("group or world access") == true)
        #expect(warnings.first?.contains("from-file") == false)
        #expect(warnings.first?.contains("\n") == false)
    }

    @Test("the URL takes the password from the file; location never shows it")
    func settingsUseTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/pgpass"
        try "db.example:6432:team:ocp:s3cret-from-file\n".write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o600)
        let settings = try PostgresRegistrySettings(url: "postgres://ocp@db.example:6432/team", environment: ["PGPASSFILE": file])
        #expect(settings.password == "s3cret-from-file")
        #expect(!settings.location.contains("s3cret"))
        let noMatch = try PostgresRegistrySettings(url: "postgres://ocp@db.example/team", environment: ["PGPASSFILE": file])
        #expect(noMatch.password == nil)
    }
}
