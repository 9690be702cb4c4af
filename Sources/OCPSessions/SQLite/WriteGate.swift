import CSystemShims
import Glibc

/// Orders this host's writers of one registry: a robust, process-shared mutex in
/// `<registry>-gate`, taken before `BEGIN IMMEDIATE` and given back after `COMMIT`.
///
/// Without it every writer that finds SQLite's write lock taken sleeps 0.1-2 ms in the busy
/// handler and tries again, so the lock sits free while they sleep; queued on the mutex, the
/// kernel hands it to the next writer at once (8 processes on 5 sessions: about 1,150-1,650 ->
/// 2,150-2,450 cycles/s, docs/performance.md). It protects no data: SQLite's lock alone makes a
/// transaction exclusive, so a writer that cannot open the gate, or waits on it longer than
/// `timeout`, goes on without it, and a holder that died holding it just hands it on.
// Immutable after init, and the mutex it points to is made to be shared across threads and processes.
final class WriteGate: @unchecked Sendable {
    /// The mapped mutex (`ocp_write_gate`).
    let gate: OpaquePointer
    /// The longest a writer queues here before it goes on to SQLite's own busy handling (a
    /// stopped process holding the gate must not stall the others past their busy timeout).
    let timeout: Double

    /// Opens or creates the gate beside `registryPath`, with the registry file's permission bits.
    init?(registryPath: String, timeout: Double) {
        var info = stat()
        guard stat(registryPath, &info) == 0,
              let gate = ocp_write_gate_open(registryPath + "-gate", UInt32(info.st_mode & 0o666))
        else { return nil }
        self.gate = gate
        self.timeout = timeout
    }

    deinit { ocp_write_gate_close(gate) }

    /// Runs `body` holding `gate` when there is one and it can be had within its timeout, else
    /// without it.
    static func serialize<T>(_ gate: WriteGate?, _ body: () throws -> T) rethrows -> T {
        guard let gate else { return try body() }
        let held = ocp_write_gate_lock(gate.gate, gate.timeout) == 0
        defer { if held { ocp_write_gate_unlock(gate.gate) } }
        return try body()
    }
}
