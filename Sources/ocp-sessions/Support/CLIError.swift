import OCPSessions

/// A command-line failure: one line on stderr and a documented exit code (sysexits).
enum CLIError: Error, CustomStringConvertible {
    case usage(String)          // 64
    case configuration(String)  // 78
    case failure(String, Int32) // anything else, with its code

    var description: String {
        switch self {
        case .usage(let m), .configuration(let m), .failure(let m, _): return m
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .configuration: return 78
        case .failure(_, let code): return code
        }
    }
}
