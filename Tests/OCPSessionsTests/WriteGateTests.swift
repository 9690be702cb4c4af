import CSystemShims
import Foundation
@testable import OCPSessions
import Synchronization
import Testing

/// The write gate beside a registry: one holder at a time, and a writer that cannot have it in
/// time goes on without it (SQLite's lock still makes its transaction exclusive).
@Suite("Registry write gate")
struct WriteGateTests {
    /// An empty registry file with the given mode, in a fresh directory.
    func registryFile(mode: mode_t = 0o600) -> (directory: String, path: String) {
        let directory = TestPaths.temporaryDirectory()
        let path = directory + "/registry.sqlite"
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: mode])
        return (directory, path)
    }

    @Test("two writers never hold the gate together, and the gate file has the registry's mode")
    func mutualExclusion() throws {
        let (directory, path) = registryFile()
        defer { TestPaths.remove(directory) }
        let first = try #require(WriteGate(registryPath: path, timeout: 5))
        let second = try #require(WriteGate(registryPath: path, timeout: 5))
        let inside = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            for _ in 0..<300 {
                WriteGate.serialize(index == 0 ? first : second) {
                    if inside.add(1, ordering: .sequentiallyConsistent).newValue != 1 {
                        overlaps.add(1, ordering: .relaxed)
                    }
                    usleep(20)
                    inside.subtract(1, ordering: .sequentiallyConsistent)
                }
            }
        }
        #expect(overlaps.load(ordering: .relaxed) == 0)
        var info = stat()
        #expect(stat(path + "-gate", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test("a writer that cannot have the gate within its timeout goes on without it")
    func timeoutFallsBack() throws {
        let (directory, path) = registryFile()
        defer { TestPaths.remove(directory) }
        let holder = try #require(WriteGate(registryPath: path, timeout: 5))
        let waiter = try #require(WriteGate(registryPath: path, timeout: 0.3))
        let held = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            WriteGate.serialize(holder) {
                held.signal()
                _ = done.wait(timeout: .now() + 10)
            }
        }
        held.wait()
        let started = Date()
        var ran = false
        WriteGate.serialize(waiter) { ran = true }
        let waited = Date().timeIntervalSince(started)
        done.signal()
        #expect(ran)
        // It waited for the gate (not less than most of its timeout), then went on, long before the
        // holder let go (bounds generous for a loaded 2-core machine).
        #expect(waited >= 0.25)
        #expect(waited < 5)
    }

    @Test("a holder that died holding the gate hands it on: the next writer holds it, and it still excludes")
    func deadHolderHandsItOn() throws {
        let (directory, path) = registryFile()
        defer { TestPaths.remove(directory) }
        let dying = try #require(WriteGate(registryPath: path, timeout: 5))
        // A thread that takes the gate and ends without giving it back, as a killed process would
        // (the mutex is robust: the kernel marks its owner dead).
        var thread = pthread_t()
        #expect(pthread_create(&thread, nil, { argument in
            _ = ocp_write_gate_lock(OpaquePointer(argument), 5)
            return nil
        }, UnsafeMutableRawPointer(dying.gate)) == 0)
        #expect(pthread_join(thread, nil) == 0)

        // Taken at once (no wait for the dead owner) and really held, then again after that holder
        // gave it back (a gate left unrecoverable would stop excluding from then on).
        for _ in 0..<2 { try expectTakenAndExcluding(path) }
    }

    /// One writer takes the gate within 2.5 s while another, with a 0.3 s timeout, waits for it.
    func expectTakenAndExcluding(_ path: String) throws {
        let holder = try #require(WriteGate(registryPath: path, timeout: 5))
        let waiter = try #require(WriteGate(registryPath: path, timeout: 0.3))
        let held = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let started = Date()
        Thread.detachNewThread {
            WriteGate.serialize(holder) {
                held.signal()
                _ = done.wait(timeout: .now() + 10)
            }
            finished.signal()
        }
        held.wait()
        #expect(Date().timeIntervalSince(started) < 2.5)
        let waitStarted = Date()
        WriteGate.serialize(waiter) {}
        #expect(Date().timeIntervalSince(waitStarted) >= 0.25)
        done.signal()
        finished.wait()
    }

    @Test("no gate where the registry file cannot be read: writers go on without one")
    func missingRegistry() {
        let directory = TestPaths.temporaryDirectory()
        defer { TestPaths.remove(directory) }
        #expect(WriteGate(registryPath: directory + "/absent.sqlite", timeout: 1) == nil)
        var ran = false
        WriteGate.serialize(nil) { ran = true }
        #expect(ran)
    }
}
