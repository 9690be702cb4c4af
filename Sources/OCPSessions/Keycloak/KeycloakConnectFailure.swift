import Foundation
import NIOCore
import NIOPosix

/// Plain words for the connect failures people meet most (refused, unknown host, no route),
/// instead of SwiftNIO's descriptions such as `connection reset (error set): Connection refused)
/// (errno: 111)`.
enum KeycloakConnectFailure {
    /// One clause naming `target` (`host:port`), or nil when `error` is not a recognised connect
    /// failure.
    static func plainReason(_ error: any Error, target: String) -> String? {
        if let connection = error as? NIOConnectionError {
            if connection.dnsAError != nil || connection.dnsAAAAError != nil {
                return "cannot resolve the host name of \(target)"
            }
            for failure in connection.connectionErrors {
                if let reason = plainReason(failure.error, target: target) { return reason }
            }
            return nil
        }
        if let io = error as? IOError { return reason(errno: io.errnoCode, target: target) }
        if let channel = error as? ChannelError, case .connectTimeout = channel {
            return "no answer from \(target) to the connection attempt"
        }
        return nil
    }

    static func reason(errno code: Int32, target: String) -> String? {
        switch code {
        case ECONNREFUSED: return "connection refused by \(target)"
        case EHOSTUNREACH, ENETUNREACH: return "no network route to \(target)"
        case ETIMEDOUT: return "no answer from \(target) to the connection attempt"
        case EADDRNOTAVAIL: return "cannot connect to \(target) (address not available)"
        default: return nil
        }
    }

    /// `host:port` as people write it, brackets around an IPv6 literal.
    static func target(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
