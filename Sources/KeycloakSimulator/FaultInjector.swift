/// Decides, reproducibly from a seed, which requests get a fault.
struct FaultInjector: Sendable {
    private(set) var configuration: FaultConfiguration
    private var generator: SplitMix64

    init(_ configuration: FaultConfiguration) {
        self.configuration = configuration
        self.generator = SplitMix64(seed: configuration.seed)
    }

    /// The fault for the next request, if any.
    mutating func nextFault() -> FaultKind? {
        guard configuration.rate > 0, !configuration.kinds.isEmpty else { return nil }
        // `random(in: 0..<1)` is below 1.0, so a rate of 1.0 faults every request.
        guard Double.random(in: 0..<1, using: &generator) < configuration.rate else { return nil }
        return configuration.kinds.randomElement(using: &generator)
    }
}

/// A small seedable generator (Steele, Lea and Flood's SplitMix64); the standard library's
/// generator cannot be seeded.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
