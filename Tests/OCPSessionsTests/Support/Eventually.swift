import Foundation

/// Polls `condition` every 20 ms for up to `seconds`; true as soon as it holds.
func eventually(_ seconds: Double = 5, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    return try condition()
}
