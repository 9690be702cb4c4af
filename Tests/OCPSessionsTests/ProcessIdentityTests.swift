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
}
