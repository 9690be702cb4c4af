import OCPSessions

/// Floor (c): an empty write transaction on the registry file, the least a warm acquire or
/// release can cost (each is one `BEGIN IMMEDIATE` ... `COMMIT`).
extension Bench {
    func measureSQLiteFloor() throws {
        progress("floor: empty BEGIN IMMEDIATE; COMMIT; x \(settings.cycles)")
        let db = try Database(path: registryPath, create: false)
        try db.execute("PRAGMA synchronous=NORMAL")
        for _ in 0..<min(200, settings.cycles) { try db.execute("BEGIN IMMEDIATE; COMMIT;") }
        var samples: [Double] = []
        samples.reserveCapacity(settings.cycles)
        let start = Monotonic.now()
        for _ in 0..<settings.cycles {
            let began = Monotonic.now()
            try db.execute("BEGIN IMMEDIATE; COMMIT;")
            samples.append(Monotonic.now() - began)
        }
        report.floors.append(BenchReport.Measurement(
            name: "empty BEGIN IMMEDIATE; COMMIT; (same file)", callers: 1,
            latency: Latency(samples: samples, wall: Monotonic.now() - start), failures: 0))
    }
}
