import Foundation
import Testing
@testable import OCPSessions

@Suite("PostgreSQL schema files and their statement splitter")
struct PostgresMigrationTests {
    @Test("every pg_ file in Migrations/ is listed, in order, numbered from 1, embedded as on disk")
    func migrationListMatchesFiles() throws {
        let files = try FileManager.default.contentsOfDirectory(
            atPath: TestPaths.packageRoot.appendingPathComponent("Migrations").path
        ).filter { $0.hasSuffix(".sql") && $0.hasPrefix("pg_") }.sorted()
        #expect(files == PostgresMigrations.all.map(\.name))
        #expect(PostgresMigrations.all.map(\.version) == Array(1...PostgresMigrations.all.count))
        for migration in PostgresMigrations.all {
            let onDisk = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Migrations/\(migration.name)"), encoding: .utf8)
            #expect(String(decoding: migration.sql, as: UTF8.self) == onDisk, "embedded copy of \(migration.name) is stale")
        }
    }

    @Test("the initial schema splits into its CREATE statements, function bodies whole")
    func initialSchemaSplits() throws {
        let sql = String(decoding: try #require(PostgresMigrations.all.first).sql, as: UTF8.self)
        let statements = PostgresSQLScript.statements(sql)
        // 7 tables, 6 indexes, 2 functions, 2 sealing triggers, 4 notify triggers.
        #expect(statements.count == 21)
        let heads = statements.map { statement in
            statement.split(separator: "\n").first { !$0.hasPrefix("--") }.map(String.init) ?? ""
        }
        #expect(heads.allSatisfy { $0.hasPrefix("CREATE ") }, "\(heads)")
        let functions = statements.filter { $0.contains("CREATE FUNCTION") }
        #expect(functions.count == 2)
        #expect(functions.allSatisfy { $0.hasSuffix("END $$") })
    }

    @Test("a ; inside quotes, dollar quotes and comments does not end a statement")
    func quotingRules() {
        let script = """
            -- a comment; with a semicolon
            SELECT 'a;b', "we;ird" FROM t; /* block; comment */
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;
            SELECT $1::text;
            DO $$ BEGIN PERFORM 1; END $$;
            -- trailing comment only
            """
        let statements = PostgresSQLScript.statements(script)
        #expect(statements.count == 4, "\(statements)")
        #expect(statements.first?.hasSuffix(#"SELECT 'a;b', "we;ird" FROM t"#) == true)
        #expect(statements.dropFirst().first?.hasSuffix("AS $body$ SELECT 1; $body$") == true)
        #expect(statements.dropFirst(2).first == "SELECT $1::text")
        #expect(statements.last == "DO $$ BEGIN PERFORM 1; END $$")
    }
}
