/// Everything `acquireLease` and the registry operations can fail with, classified by what the
/// caller should do. Each kind maps to one documented exit code of the command line.
public struct OCPSessionsError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No session came free before the wait timeout (exit 75).
        case timedOut
        /// The registry stayed locked past the busy timeout (exit 75).
        case registryBusy
        /// Wrong username or password, or the account is locked or unusable (exit 77).
        case credentials
        /// Missing or wrong settings, file permissions, unmeetable minimum validity (exit 78).
        case configuration
        /// The IAM stayed unreachable (exit 69).
        case unavailable
        /// The IAM kept answering with data we cannot read, or the registry is damaged or from a
        /// newer release (exit 65).
        case malformed
        /// The lease was released or lost.
        case leaseLost
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The command line's exit code (sysexits).
    public var exitCode: Int32 {
        switch kind {
        case .timedOut, .registryBusy: return 75
        case .credentials: return 77
        case .configuration: return 78
        case .unavailable: return 69
        case .malformed: return 65
        case .leaseLost: return 75
        }
    }

    /// Wraps registry and IAM failures into the caller-facing taxonomy.
    public static func wrap(_ error: any Error) -> OCPSessionsError {
        switch error {
        case let error as OCPSessionsError:
            return error
        case let error as RegistryError:
            switch error {
            case .busy: return OCPSessionsError(.registryBusy, error.description)
            case .corrupt, .newerSchema: return OCPSessionsError(.malformed, error.description)
            case .database: return OCPSessionsError(.malformed, error.description)
            case .badKey, .sealing, .permission, .unsafeFilesystem: return OCPSessionsError(.configuration, error.description)
            }
        case let error as IdPError:
            switch error.kind {
            case .credentialsRejected, .accountNotUsable: return OCPSessionsError(.credentials, error.message)
            case .configuration, .rejected: return OCPSessionsError(.configuration, error.message)
            case .unavailable: return OCPSessionsError(.unavailable, error.message)
            case .malformedResponse: return OCPSessionsError(.malformed, error.message)
            case .sessionLimitDenied, .sessionDead: return OCPSessionsError(.unavailable, error.message)
            }
        case is CancellationError:
            return OCPSessionsError(.timedOut, "cancelled")
        default:
            return OCPSessionsError(.malformed, "unexpected failure: \(type(of: error))")
        }
    }
}
