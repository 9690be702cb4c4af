import Foundation

/// Strict textual IP address parsing, for the loopback rule and `no_proxy` matching.
///
/// Deliberately strict (dotted-quad IPv4 only, no `127.1` or octal forms): anything unusual is
/// treated as a host name, which for the URL policy means "not loopback", the safe side.
enum KeycloakIPAddress {
    /// Four decimal octets, no leading zeros beyond a single `0`.
    static func parseIPv4(_ text: some StringProtocol) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                !(part.count > 1 && part.hasPrefix("0")),
                let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// RFC 4291 text forms, including `::` and an embedded dotted quad; no zone id.
    static func parseIPv6(_ text: some StringProtocol) -> [UInt8]? {
        let text = String(text)
        guard !text.isEmpty, text.count <= 45, !text.contains("%") else { return nil }
        let halves = text.components(separatedByDoubleColon: ())
        guard let halves, halves.count <= 2 else { return nil }

        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            var result: [UInt16] = []
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }

        var all: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], allowIPv4Tail: false),
                let tail = groups(halves[1], allowIPv4Tail: true),
                head.count + tail.count <= 7
            else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let only = groups(halves[0], allowIPv4Tail: true), only.count == 8 else { return nil }
            all = only
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// IPv4 or IPv6 (with or without brackets).
    static func parse(_ text: some StringProtocol) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        return parseIPv4(text) ?? parseIPv6(text)
    }

    /// 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104 (IPv4-mapped loopback).
    static func isLoopback(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 4 { return bytes[0] == 127 }
        guard bytes.count == 16 else { return false }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff]
        return Array(bytes[0..<12]) == mappedPrefix && bytes[12] == 127
    }

    /// Whether `address` lies in `network`/`prefixLength` (same family only).
    static func contains(network: [UInt8], prefixLength: Int, address: [UInt8]) -> Bool {
        guard network.count == address.count, prefixLength >= 0, prefixLength <= network.count * 8 else {
            return false
        }
        var remaining = prefixLength
        for i in 0..<network.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if network[i] & mask != address[i] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

extension String {
    /// Splits at `::` (at most once meaningful); nil if `::` occurs twice or a lone `:` starts/ends it.
    fileprivate func components(separatedByDoubleColon: Void) -> [String]? {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.range(of: "::") {
            parts.append(String(rest[rest.startIndex..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        if parts.count > 2 { return nil }
        // A single ':' at either end (without '::') is invalid.
        if parts.count == 1, hasPrefix(":") || hasSuffix(":") { return nil }
        if parts.count == 2 {
            if parts[0].hasPrefix(":") || parts[0].hasSuffix(":") { return nil }
            if parts[1].hasPrefix(":") || parts[1].hasSuffix(":") { return nil }
        }
        return parts
    }
}
