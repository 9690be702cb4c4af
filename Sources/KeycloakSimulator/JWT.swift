import Crypto
import Foundation

/// Signs and verifies JWT-shaped tokens with HS256 under a key that lives as long as the server,
/// like the realm HMAC key Keycloak signs refresh tokens with. Clients treat the tokens as opaque
/// but can decode `exp` and `sid`.
struct TokenSigner: Sendable {
    /// Raw bytes, because `SymmetricKey` is not `Sendable`; a key is rebuilt per use.
    private let keyBytes: Data = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    private static let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT","kid":"simulator"}"#.utf8))

    func sign(_ claims: TokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and integers cannot fail; an empty payload would only make
        // the token fail verification later, never crash.
        let payload = (try? encoder.encode(claims)) ?? Data()
        let signingInput = Self.header + "." + Base64URL.encode(payload)
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Data(signature))
    }

    /// The claims of a token this server signed, or `nil` for anything else: not three parts,
    /// bad base64, a wrong signature or unexpected claims.
    func verify(_ token: String) -> TokenClaims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.header,
            let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { return nil }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key)
        else { return nil }
        return try? JSONDecoder().decode(TokenClaims.self, from: payload)
    }
}

/// Base64url without padding (RFC 7515 §2).
enum Base64URL {
    static func encode(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if base64.contains("=") { return nil }
        switch base64.count % 4 {
        case 2: base64 += "=="
        case 3: base64 += "="
        case 1: return nil
        default: break
        }
        return Data(base64Encoded: base64)
    }
}
