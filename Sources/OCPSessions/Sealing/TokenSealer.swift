import Crypto
import Foundation

/// Seals tokens at rest with AES-GCM. Each ciphertext is bound to its session row (the session id
/// is the associated data), so a sealed token copied into another row does not open.
///
/// Layout: `0x01 | key id (4) | nonce (12) | ciphertext | tag (16)`. The key id (the first bytes of
/// the key's SHA-256) lets `rekey` tell which key sealed a row.
public struct TokenSealer: Sendable {
    let keyBytes: [UInt8]
    public let keyID: [UInt8]

    public init(keyBytes: [UInt8]) throws(RegistryError) {
        guard keyBytes.count == 32 else { throw .badKey("the sealing key must be 32 bytes (base64 of 32 random bytes)") }
        self.keyBytes = keyBytes
        keyID = Array(SHA256.hash(data: keyBytes).prefix(4))
    }

    /// A new random 256-bit key.
    public static func generateKey() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    public func seal(_ plaintext: String, sessionID: String) throws(RegistryError) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(Data(plaintext.utf8), using: SymmetricKey(data: keyBytes), authenticating: Data(sessionID.utf8))
            return [1] + keyID + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
        } catch {
            throw .sealing("could not seal a token")
        }
    }

    public func open(_ sealed: [UInt8], sessionID: String) throws(RegistryError) -> String {
        guard sealed.count >= 1 + 4 + 12 + 16, sealed[0] == 1 else {
            throw .sealing("a sealed token in the registry is damaged")
        }
        guard Array(sealed[1..<5]) == keyID else {
            throw .sealing("the registry's tokens were sealed with another key (check OCP_SESSIONS_KEY or the key file)")
        }
        do {
            // nonce | ciphertext | tag is the layout of a combined box: one contiguous copy, where
            // three slices cost a cached `token` 700,000 instructions in generic `Data.append`.
            let box = try AES.GCM.SealedBox(combined: Data(sealed[5...]))
            let plain = try AES.GCM.open(box, using: SymmetricKey(data: keyBytes), authenticating: Data(sessionID.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw .sealing("its sealed token does not open with this key and row (damaged, or copied from another session's row); it is not used")
        }
    }
}
