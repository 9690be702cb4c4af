import OCPSessions

extension ResolvedSettings {
    /// How `revoke` and `prune` reach the IAM for an account found in the registry: its host, realm
    /// and username, the session's client id, and this invocation's TLS and scope settings. The
    /// client secret is used only for the client it was configured for; no password is needed.
    func resolver() throws -> AccountResolver {
        let secret = try clientSecretFile.map { try PasswordSources.readSecretFile($0, what: "client secret file") }
        let (clientID, caFile, scope) = (self.clientID, self.caFile, self.scope)
        return { key, sessionClientID in
            AccountConfiguration(
                host: key.host, realm: key.realm, username: key.username, clientID: sessionClientID,
                clientSecret: sessionClientID == clientID ? secret : nil, scope: scope, caFile: caFile)
        }
    }
}
