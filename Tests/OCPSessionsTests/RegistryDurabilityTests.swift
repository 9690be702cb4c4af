import Foundation
import Testing
@testable import OCPSessions

/// The write-ahead log: synced on demand (login reservations), and kept short for the next process.
@Suite("Registry write-ahead log")
struct RegistryDurabilityTests {
    let environment = ["OCP_SESSIONS_KEY": Data(repeating: 5, count: 32).base64EncodedString()]

    func walSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? -1
    }

    /// `count` transactions of one event each, through the registry's own write path.
    func writeEvents(_ registry: SQLiteRegistry, count: Int) throws {
        for index in 0..<count {
            try registry.write { tx in
                try tx.appendEvent(EventRecord(at: Double(index), accountID: nil, kind: .error, detail: String(repeating: "x", count: 3000)))
            }
        }
    }

    @Test("a commit can be made durable: the open log is fsynced")
    func syncAfterCommit() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let registry = try SQLiteRegistry(path: dir + "/registry.sqlite", environment: environment)
        try writeEvents(registry, count: 1)
        #expect(try registry.withDatabase { try $0.syncWriteAheadLog() })
        try registry.makeCommitsDurable()
    }

    @Test("a connection closing alone with a long log truncates it; with a reader present it leaves it")
    func truncateOnClose() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(dir) }
        let path = dir + "/registry.sqlite"
        do {
            let registry = try SQLiteRegistry(path: path, environment: environment)
            try writeEvents(registry, count: 20)
        }
        // Short log (about 40 frames): kept as it is.
        #expect(walSize(path) > 0)
        do {
            let registry = try SQLiteRegistry(path: path, environment: environment)
            try writeEvents(registry, count: 150)
        }
        #expect(walSize(path) == 0)

        let reader = try SQLiteRegistry(path: path, environment: environment)
        do {
            let registry = try SQLiteRegistry(path: path, environment: environment)
            try writeEvents(registry, count: 150)
            try reader.read { _ = try $0.accounts() }
            // The reader's transaction is over; hold a new one open while the writer closes.
            try reader.withDatabase { db in
                try db.execute("BEGIN")
                _ = try db.queryOne("SELECT COUNT(*) FROM events")
            }
        }
        #expect(walSize(path) > 0)
        try reader.withDatabase { try $0.execute("COMMIT") }
    }
}
