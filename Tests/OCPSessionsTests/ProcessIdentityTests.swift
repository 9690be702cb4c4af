import Foundation
import Testing
@testable import OCPSessions

/// `/proc/<pid>/stat` parsing, read on every scheduling decision for every holder.
@Suite("Process identity")
struct ProcessIdentityTests {
    static func parse(_ line: String) -> Int? {
        Array(line.utf8).withUnsafeBufferPointer { ProcessIdentity.parseStartTime($0) }
    }

    /// Fields 3 to 21 of a running process, then the start time (22) and the rest.
    static func line(comm: String, state: String = "S", start: String = "4242") -> String {
        let middle = (4...21).map(String.init).joined(separator: " ")
        return "1234 (\(comm)) \(state) \(middle) \(start) 23 24 25\n"
    }

    @Test("field 22 after the last ')', whatever the command name holds")
    func startTimeField() {
        #expect(Self.parse(Self.line(comm: "bash")) == 4242)
        #expect(Self.parse(Self.line(comm: "a b) c (d")) == 4242)
        #expect(Self.parse(Self.line(comm: ") 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9")) == 4242)
        #expect(Self.parse(Self.line(comm: "x", start: "0")) == 0)
    }

    @Test("a zombie, a dead process, a short or malformed line: no start time")
    func refused() {
        #expect(Self.parse(Self.line(comm: "x", state: "Z")) == nil)
        #expect(Self.parse(Self.line(comm: "x", state: "X")) == nil)
        #expect(Self.parse("1234 (x) S 4 5 6\n") == nil)
        #expect(Self.parse("no parenthesis at all") == nil)
        #expect(Self.parse(Self.line(comm: "x", start: "abc")) == nil)
        #expect(Self.parse("") == nil)
    }

    @Test("this process: the same start time as a String split of /proc/self/stat, and alive")
    func ownProcess() throws {
        let text = try String(contentsOfFile: "/proc/self/stat", encoding: .utf8)
        let close = try #require(text.lastIndex(of: ")"))
        let fields = text[text.index(after: close)...].split(separator: " ")
        let expected = Int(fields[19])
        #expect(ProcessIdentity.startTime(of: Int(getpid())) == expected)
        #expect(ProcessIdentity.current(label: "t").startTime == expected)
        #expect(ProcessLiveness().isAlive(ProcessIdentity.current(label: "t")))
        #expect(ProcessIdentity.startTime(of: Int(Int32.max)) == nil)
    }

    @Test("OCP_SESSIONS_HOST_ID replaces the host name, trimmed; empty or blank is ignored")
    func hostIDOverride() {
        let real = ProcessIdentity.hostID(environment: [:])
        #expect(!real.isEmpty)
        #expect(ProcessIdentity.hostID(environment: ["OCP_SESSIONS_HOST_ID": " ci-runner-7\n"]) == "ci-runner-7")
        #expect(ProcessIdentity.hostID(environment: ["OCP_SESSIONS_HOST_ID": ""]) == real)
        #expect(ProcessIdentity.hostID(environment: ["OCP_SESSIONS_HOST_ID": "  "]) == real)
    }

    @Test("a holder of another host id is never judged by /proc, whatever boot id it reports")
    func otherHostNotJudged() {
        let me = ProcessIdentity.current(label: "t")
        // Our own pid, start and boot under another host id: cannot be checked here, so alive.
        var elsewhere = me
        elsewhere.host = me.host + "-other"
        #expect(!ProcessIdentity.isLocal(elsewhere))
        elsewhere.pid = Int(Int32.max)
        #expect(ProcessLiveness().isAlive(elsewhere), "a pid on another host means nothing here")
        // The same host id under another boot: this host rebooted since, so the holder is dead.
        var beforeReboot = me
        beforeReboot.bootID = "another-boot"
        #expect(!ProcessIdentity.isLocal(beforeReboot))
        #expect(!ProcessLiveness().isAlive(beforeReboot))
        // Same host and boot: the pid decides.
        #expect(ProcessIdentity.isLocal(me))
        var gone = me
        gone.pid = Int(Int32.max)
        #expect(!ProcessLiveness().isAlive(gone))
    }
}
