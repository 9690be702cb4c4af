import ArgumentParser
import Foundation
import OCPSessions

struct RekeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Re-seal every session's tokens with a new sealing key, while other processes keep working.",
        discussion: """
            With the key file (<registry>.key) a new random key is made (or taken from --new-key-file or \
            OCP_SESSIONS_NEW_KEY); the file holds the old and the new key until the switch has committed, \
            then the new one only. Running processes pick the new key up at their next transaction.

            On a PostgreSQL registry the key is shared by every host: the new key must always be given, no key \
            file is written, and every host must then be given the new key.

            With OCP_SESSIONS_KEY the new key must be given (--new-key-file or OCP_SESSIONS_NEW_KEY, never \
            on the command line); afterwards every process must use it: processes still on the old key exit \
            78 ("sealed with another key"). OCP_SESSIONS_KEY may list both keys ("OLD,NEW") to switch \
            without failures.

            Exit codes: 0 done; 65 damaged registry; 75 registry locked; 78 bad or missing key.
            """
    )

    @OptionGroup var account: AccountOptions
    @Option(name: .customLong("new-key-file"), help: "File holding the new key, base64 of 32 random bytes (env OCP_SESSIONS_NEW_KEY).")
    var newKeyFile: String?
    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.run {
            let environment = ProcessInfo.processInfo.environment
            let settings = try ResolvedSettings(account, environment: environment)
            let busyTimeout = try BusyTimeoutSetting.resolve(environment)
            let opened = try RegistryOpener.open(
                settings, existingRegistry: false, busyTimeout: busyTimeout, environment: environment)
            let result: RekeyResult
            do {
                guard let registry = opened.store as? any RekeyableRegistry else {
                    throw CLIError.configuration("the \(opened.backend) registry cannot be rekeyed")
                }
                result = try registry.rekey(newKey: try SealingKeyLoader.newKey(file: newKeyFile))
            } catch let error as CLIError {
                throw error
            } catch {
                throw OCPSessionsError.wrap(error)
            }
            let change: String
            switch result.keySource {
            case _ where opened.backend != "sqlite":
                change = "give every host of this registry the new key (OCP_SESSIONS_KEY or --key-file); hosts still on the old key fail with exit 78 until they do"
            case .environment:
                change = "set OCP_SESSIONS_KEY to the new key for every process of this registry; processes still on the old key fail with exit 78 until they do"
            case .file(let path):
                change = "the key file \(path) holds the new key; running processes switch to it by themselves"
            }
            if json {
                print(JSONOutput.object([
                    ("old_key_id", .string(result.oldKeyID)), ("new_key_id", .string(result.newKeyID)),
                    ("resealed", .integer(result.resealed)), ("unreadable", .array(result.unreadable.map { .string($0) })),
                    ("key_source", .string(result.keySource.description)), ("action", .string(change)),
                ]))
            } else {
                print("re-sealed \(result.resealed) session(s): sealing key \(result.oldKeyID) replaced by \(result.newKeyID)")
                print(change)
            }
            if !result.unreadable.isEmpty {
                FileHandle.standardError.write(Data("ocp-sessions: \(result.unreadable.count) session(s) did not open with any known key and were left as they were: \(result.unreadable.joined(separator: ", "))\n".utf8))
            }
        }
    }
}
