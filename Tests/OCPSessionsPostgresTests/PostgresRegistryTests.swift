import Foundation
import Testing
import PostgresNIO
@testable import OCPSessions
@testable import OCPSessionsPostgres

// Serialized: the restart test stops the cluster the others use.
@Suite("PostgreSQL registry against a local cluster", .serialized, TestCluster.required)
struct PostgresRegistryTests {
    let key = Data(repeating: 7, count: 32).base64EncodedString()
    let otherKey = Data(repeating: 9, count: 32).base64EncodedString()
    let holder = HolderIdentity(pid: 4242, startTime: 17, bootID: "boot-a", host: "host-a", label: "test")
    let account = AccountKey(host: "iam.example", realm: "r", username: "u")

    func open(_ settings: PostgresRegistrySettings, key: String? = nil) throws -> PostgresRegistry {
        try PostgresRegistry(settings: settings, environment: ["OCP_SESSIONS_KEY": key ?? self.key])
    }

    @Test("a fresh database is migrated once; a second open (another host) finds it current")
    func migrates() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let first = try open(settings)
        #expect(first.schemaVersion == PostgresMigrations.latestVersion)
        let second = try open(settings)
        #expect(second.schemaVersion == PostgresMigrations.latestVersion)
        let applied = try first.withBridge { try $0.query("SELECT count(*) FROM schema_migrations").rows.first?.decode(Int.self) }
        #expect(applied == PostgresMigrations.all.count)
    }

    @Test("rows written in one transaction read back the same, tokens sealed and opened")
    func roundTrip() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try open(settings)
        let session = SessionRecord(id: "s-1", accessExpiresAt: 1_000, refreshExpiresAt: 2_000, createdAt: 10,
                                    lastUsedAt: 11, lastRefreshedAt: 12, handedOutUntil: 900)
        let accountID = try registry.write { tx -> Int64 in
            let record = try tx.upsertAccount(account, limit: 5, reserve: 1, now: 1)
            let sealer = registry.sealer
            try tx.insertSession(session, tokens: SealedTokens(
                access: try sealer.seal("access-token", sessionID: session.id),
                refresh: try sealer.seal("refresh-token", sessionID: session.id)), accountID: record.id)
            try tx.insertLease(LeaseRecord(id: "l-1", sessionID: session.id, shared: false, holder: holder,
                                           acquiredAt: 20, expiresAt: 920), accountID: record.id)
            try tx.insertLogin(LoginRecord(id: "g-1", holder: holder, startedAt: 30, deadline: 60), accountID: record.id)
            _ = try tx.enqueueWaiter(accountID: record.id, holder: holder, now: 40)
            try tx.appendEvent(EventRecord(at: 50, accountID: record.id, kind: .lease, sessionID: session.id, leaseID: "l-1"))
            return record.id
        }
        // The more conservative limit and reserve win on a second upsert.
        let merged = try registry.write { try $0.upsertAccount(account, limit: 7, reserve: 2, now: 2) }
        #expect(merged.id == accountID && merged.sessionLimit == 5 && merged.reserve == 2)
        let snapshot = try #require(try registry.read { try $0.snapshot(accountID: accountID) })
        #expect(snapshot.sessions == [session])
        #expect(snapshot.leases == [LeaseRecord(id: "l-1", sessionID: session.id, shared: false, holder: holder,
                                                acquiredAt: 20, expiresAt: 920)])
        #expect(snapshot.logins == [LoginRecord(id: "g-1", holder: holder, startedAt: 30, deadline: 60)])
        #expect(snapshot.waiters.map(\.holder) == [holder])
        let tokens = try #require(try registry.read { try $0.sealedTokens(sessionID: session.id) })
        #expect(try registry.sealer.open(tokens.access, sessionID: session.id) == "access-token")
        #expect(try registry.read { try $0.events(since: 0, accountID: accountID, afterID: nil, limit: 10) }.map(\.kind) == [.lease])
        // Writes that name a row, not the account.
        let extended = try registry.write { try $0.extendLease(id: "l-1", until: 2_000) }
        #expect(extended)
        try registry.write { tx in
            try tx.apply(.markLoginUnknown(id: "g-1"), accountID: accountID, now: 70)
            try tx.deleteSession(id: session.id)
        }
        let after = try #require(try registry.read { try $0.snapshot(accountID: accountID) })
        #expect(after.sessions.isEmpty && after.leases.isEmpty && after.logins.map(\.state) == [.unknown])
    }

    @Test("a host with another key cannot write: clear error, no row changed")
    func anotherKeyRefused() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try open(settings)
        let accountID = try registry.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 1).id }
        let stranger = try open(settings, key: otherKey)
        let refusal = #expect(throws: RegistryError.self) {
            try stranger.write { tx in try tx.insertLogin(
                LoginRecord(id: "g-x", holder: holder, startedAt: 1, deadline: 2), accountID: accountID) }
        }
        #expect(refusal?.description.contains("sealed with another key") == true, "\(String(describing: refusal))")
        let logins = try registry.read { try $0.snapshot(accountID: accountID) }?.logins
        #expect(logins == [])
        // The database itself refuses a row sealed with another key.
        #expect(throws: RegistryError.self) {
            try registry.withBridge { bridge in
                _ = try bridge.query("""
                    INSERT INTO sessions (id, account_id, client_id, state, access_token, refresh_token, access_expires_at,
                        created_at, last_used_at, last_refreshed_at) VALUES ('s-x', \(accountID), 'c', 'active',
                        '\\x0109090909ff'::bytea, '\\x0109090909ff'::bytea, 1, 1, 1, 1)
                    """)
            }
        }
    }

    @Test("the recorded key is read with the first account statement, or before the body seals or commits")
    func sealingKeyFolded() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        // The team's key is `otherKey`; this host lists its old key first, so its current one differs.
        let first = try open(settings, key: otherKey)
        let accountID = try first.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 1).id }
        let recorded = first.sealer.currentID
        let host = try open(settings, key: key + "," + otherKey)
        #expect(host.sealer.currentID != recorded)
        // A body that seals before any statement (the refresh path) seals with the recorded key.
        let sealingID = try host.write { _ in host.sealer.currentID }
        #expect(sealingID == recorded)
        // An account statement brings the key id along: no statement of its own.
        let fresh = try open(settings, key: key + "," + otherKey)
        let before = fresh.bridge.statements
        _ = try fresh.write { try $0.snapshot(accountID: accountID) }
        #expect(fresh.bridge.statements - before == 4, "BEGIN, account, snapshot rows, COMMIT")
        #expect(fresh.sealer.currentID == recorded)
        // A write that reads no account still checks it before committing: a stranger commits nothing.
        let stranger = try open(settings, key: Data(repeating: 3, count: 32).base64EncodedString())
        #expect(throws: RegistryError.self) {
            try stranger.write { tx in try tx.appendEvent(EventRecord(at: 1, accountID: accountID, kind: .error, detail: "x")) }
        }
        #expect(try first.read { try $0.events(since: 0, accountID: accountID, afterID: nil, limit: 10) }.isEmpty)
    }

    @Test("another host's commit changes changeCounter() through NOTIFY, without a query")
    func notifyWakes() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let waiter = try open(settings)
        let other = try open(settings)
        let accountID = try other.write { try $0.upsertAccount(account, limit: 5, reserve: 0, now: 1).id }
        let before = try #require(waiter.changeCounter())
        try other.write { tx in _ = try tx.enqueueWaiter(accountID: accountID, holder: holder, now: 1) }
        let deadline = Date().addingTimeInterval(2)
        while waiter.changeCounter() == before, Date() < deadline { usleep(1_000) }
        #expect(waiter.changeCounter() != before)
    }

    @Test("a holder on another host is alive while its connection lives, dead within 2 s of it closing")
    func holderLiveness() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        // No grace after a server start: the restart test may have just restarted it.
        var strict = settings
        strict.restartGrace = 0
        let holderHost = try open(strict)
        let observer = try open(strict)
        let remote = remoteHolder
        let accountID = try holderHost.seedRemoteLogin(account)
        _ = try observer.read { try $0.snapshot(accountID: accountID) }
        #expect(observer.liveness.isAlive(remote))
        // Its own rows, seen through its own connection (whose lock never stops its own try).
        _ = try holderHost.write { try $0.snapshot(accountID: accountID) }
        #expect(holderHost.liveness.isAlive(remote))
        try holderHost.withBridge { $0.close() }
        let deadline = Date().addingTimeInterval(2)
        var alive = true
        while alive, Date() < deadline {
            _ = try observer.read { try $0.snapshot(accountID: accountID) }
            alive = observer.liveness.isAlive(remote)
            if alive { usleep(10_000) }
        }
        #expect(!alive, "the holder's lock outlived its connection")
        // Closed by itself (no background reconnect): the next transaction reconnects under the
        // same key, so the old row is alive again, and a new row too.
        try holderHost.write { tx in
            try tx.insertLogin(LoginRecord(id: "g-r2", holder: remote, startedAt: 3, deadline: 4), accountID: accountID)
        }
        let logins = try observer.read { try $0.snapshot(accountID: accountID) }?.logins.map(\.id)
        #expect(logins == ["g-r", "g-r2"])
        #expect(observer.liveness.isAlive(remote))
    }

    @Test("every registry connection is named ocp-sessions:<pid>:<host id> in pg_stat_activity")
    func applicationName() throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let registry = try open(settings)
        _ = try registry.read { try $0.accounts() }
        let name = PostgresRegistrySettings.applicationName
        #expect(name == "ocp-sessions:\(getpid()):\(ProcessIdentity.hostName)")
        var binds = PostgresBindings()
        binds.append(name)
        binds.append(settings.database)
        let named = try registry.withBridge { bridge in
            try bridge.query(PostgresQuery(unsafeSQL: """
                SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2 AND pid <> pg_backend_pid()
                """, binds: binds)).rows.first?.decode(Int.self)
        }
        // This registry's own connection is the only one in its database: another one here would be a second.
        let own = try registry.withBridge { try $0.query("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            .rows.first?.decode(String.self) }
        #expect(own == name)
        #expect(named == 0)
    }

    @Test("after a server restart the next transaction reconnects; the holder keeps its key, its rows alive",
          .enabled(if: TestCluster.canRestart, "set OCP_SESSIONS_TEST_PGDATA and OCP_SESSIONS_TEST_PGBIN"))
    func serverRestart() async throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let holderHost = try open(settings)
        let remote = remoteHolder
        let accountID = try holderHost.seedRemoteLogin(account)
        let keyBefore = holderHost.holderLock
        let counterBefore = try #require(holderHost.changeCounter())
        try await TestCluster.restart()
        // Idle connections are gone; the next transaction opens a new one before BEGIN.
        let logins = try holderHost.read { try $0.snapshot(accountID: accountID) }?.logins.map(\.id)
        #expect(logins == ["g-r"])
        #expect(holderHost.holderLock == keyBefore, "a restart is not a death: the holder keeps its key")
        #expect(holderHost.changeCounter() != counterBefore, "a reconnect counts as a change")
        let observer = try open(settings)
        _ = try observer.read { try $0.snapshot(accountID: accountID) }
        #expect(observer.liveness.isAlive(remote))
        try holderHost.write { tx in try tx.deleteLogin(id: "g-r") }
    }

    @Test("two hosts reserving logins at once never pass the limit")
    func concurrentReservationsKeepTheLimit() async throws {
        let settings = try TestCluster.makeDatabase()
        defer { TestCluster.drop(settings) }
        let hosts = try (0..<4).map { _ in try open(settings) }
        let limit = 5
        let account = self.account
        let holder = self.holder
        // The account exists first, so the count is guarded by the account lock alone (the
        // upsert's own row lock would serialise the transactions too).
        _ = try hosts[0].write { try $0.upsertAccount(account, limit: limit, reserve: 0, now: 1) }
        let granted = try await withThrowingTaskGroup(of: Int.self) { group in
            for registry in hosts {
                group.addTask {
                    var mine = 0
                    for _ in 0..<25 {
                        mine += try registry.write { tx -> Int in
                            let record = try #require(try tx.account(account))
                            let snapshot = try #require(try tx.snapshot(accountID: record.id))
                            guard snapshot.sessions.count + snapshot.logins.count < limit else { return 0 }
                            // Widens the window between count and reservation: without the lock,
                            // another host would count the same free slot meanwhile.
                            usleep(5_000)
                            try tx.insertLogin(LoginRecord(id: UUID().uuidString, holder: holder, startedAt: 1, deadline: 2),
                                               accountID: record.id)
                            return 1
                        }
                    }
                    return mine
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(granted == limit)
        let accountID = try #require(try hosts[0].read { try $0.account(account) }?.id)
        #expect(try hosts[0].read { try $0.snapshot(accountID: accountID) }?.logins.count == limit)
    }
}

@Suite("postgres:// URLs")
struct PostgresURLTests {
    @Test("a password in the URL is refused; PGPASSWORD is used and never shown")
    func password() throws {
        #expect(throws: RegistryError.self) { try PostgresRegistrySettings(url: "postgres://ocp:secret@db:5432/ocp", environment: [:]) }
        let settings = try PostgresRegistrySettings(url: "postgres://ocp@db/ocp?sslmode=verify-full", environment: ["PGPASSWORD": "s3cret"])
        #expect(settings.password == "s3cret")
        #expect(settings.location == "postgres://ocp@db:5432/ocp?sslmode=verify-full")
        #expect(!settings.location.contains("s3cret"))
    }

    @Test("malformed URLs get one clear error each, never showing a password")
    func malformed() {
        for url in ["postgres:///ocp", "postgres://ocp@db", "postgres://ocp@db:70000/ocp", "postgres://ocp@db/ocp?sslmode=maybe",
                    "postgres://ocp@db/ocp?foo=1", "mysql://ocp@db/ocp", "postgres://ocp@db/ocp?connect_timeout=0",
                    "postgres://ocp@db/ocp?connect_timeout=ten", "postgres://ocp@db/ocp?sslrootcert=",
                    "postgres://ocp@db/ocp?sslmode=require&sslmode=disable", "postgres://ocp:hunter2@db/ocp"] {
            let error = #expect(throws: RegistryError.self, "\(url)") {
                try PostgresRegistrySettings(url: url, environment: ["PGPASSWORD": "hunter2"])
            }
            let message = error?.description ?? ""
            #expect(!message.isEmpty && !message.contains("\n") && !message.contains("hunter2"), "\(message)")
        }
        let unknown = #expect(throws: RegistryError.self) {
            try PostgresRegistrySettings(url: "postgres://ocp@db/ocp?application_name=x", environment: [:])
        }
        #expect(unknown?.description == "unknown parameter 'application_name' in the PostgreSQL URL (known: sslmode, sslrootcert, connect_timeout)")
        #expect(PostgresRegistrySettings.isPostgresURL("postgresql://a@b/c"))
        #expect(!PostgresRegistrySettings.isPostgresURL("/var/lib/ocp/registry.sqlite"))
    }

    @Test("sslmode, sslrootcert and connect_timeout as libpq; location shows them, never a password")
    func parameters() throws {
        let settings = try PostgresRegistrySettings(
            url: "postgresql://ocp@[::1]:6432/team?sslmode=verify-ca&sslrootcert=/etc/ocp/ca.pem&connect_timeout=3",
            environment: ["PGPASSWORD": "pw"])
        #expect(settings.host == "::1" && settings.port == 6432 && settings.database == "team")
        #expect(settings.sslMode == .verifyCA && settings.sslRootCertificate == "/etc/ocp/ca.pem" && settings.connectTimeout == 3)
        #expect(settings.location == "postgres://ocp@[::1]:6432/team?sslmode=verify-ca&sslrootcert=/etc/ocp/ca.pem&connect_timeout=3")
        let defaults = try PostgresRegistrySettings(url: "postgres://db/ocp", environment: ["USER": "me", "HOME": "/nonexistent"])
        #expect(defaults.user == "me" && defaults.sslMode == .prefer && defaults.connectTimeout == 10 && defaults.password == nil)
        #expect(try PostgresRegistrySettings(url: "postgres://db/ocp", environment: ["PGUSER": "pg", "USER": "me"]).user == "pg")
        for mode in PostgresRegistrySettings.SSLMode.allCases {
            #expect(try PostgresRegistrySettings(url: "postgres://ocp@db/ocp?sslmode=\(mode.rawValue)", environment: [:]).sslMode == mode)
        }
    }
}

@Suite("PostgreSQL holder liveness rule")
struct PostgresHolderLivenessRuleTests {
    @Test("only a holder of this host id and boot is judged by /proc; any other by its lock alone")
    func procOnlyForLocalHolders() {
        let liveness = PostgresHolderLiveness()
        let me = ProcessIdentity.current(label: "t")
        var exited = me
        exited.pid = Int(Int32.max)
        #expect(!liveness.isAlive(exited), "an exited local process is dead at once")
        // Another host id on this machine (a test's separate host), our boot id: not ours to check.
        var otherHost = exited
        otherHost.host = me.host + "-other"
        #expect(liveness.isAlive(otherHost))
        // Our host name on another machine (another boot id): its lock decides, not our /proc.
        var otherBoot = exited
        otherBoot.bootID = "another-boot"
        #expect(liveness.isAlive(otherBoot))
        // A snapshot that found their locks gone decides for both.
        liveness.record(dead: [otherHost, otherBoot])
        #expect(!liveness.isAlive(otherHost) && !liveness.isAlive(otherBoot))
        #expect(liveness.isAlive(me))
    }
}
