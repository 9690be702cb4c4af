import Testing
import OCPSessions

/// How a caller waits: a short spin while sessions are merely busy, then a place in the queue;
/// how often it looks at the registry meanwhile.
@Suite("Scheduler: spinning and polling while waiting")
struct LeaseSchedulerWaitingTests {
    let scheduler = LeaseScheduler(liveness: AlwaysAlive())

    struct AlwaysAlive: HolderLiveness {
        func isAlive(_ holder: HolderIdentity) -> Bool { true }
    }

    @Test("at the limit a caller spins for 2 ms before it queues; other reasons queue at once")
    func queueing() {
        let spin = LeaseScheduler.spinBeforeQueueing
        #expect(spin == 0.002)
        #expect(!scheduler.queues(.atLimit, spinningSince: nil, now: 100))
        #expect(!scheduler.queues(.atLimit, spinningSince: 100, now: 100 + spin * 0.99))
        #expect(scheduler.queues(.atLimit, spinningSince: 100, now: 100 + spin * 1.01))
        for reason in [WaitReason.queued, .refreshInProgress, .loginBlocked(until: 200)] {
            #expect(scheduler.queues(reason, spinningSince: nil, now: 100))
            #expect(scheduler.queues(reason, spinningSince: 100, now: 100))
        }
    }

    @Test("spinning callers and the first in the queue look every 0.2 ms; the others back off while nothing changes")
    func polling() {
        for previous in [nil, 0.0002, 0.008] as [Double?] {
            #expect(scheduler.pollInterval(after: previous, position: nil, changed: false) == 0.0002)
            #expect(scheduler.pollInterval(after: previous, position: 0, changed: false) == 0.0002)
        }
        #expect(scheduler.pollInterval(after: nil, position: 3, changed: false) == 0.001)
        #expect(scheduler.pollInterval(after: 0.0002, position: 3, changed: false) == 0.001)
        #expect(scheduler.pollInterval(after: 0.001, position: 3, changed: false) == 0.002)
        #expect(scheduler.pollInterval(after: 0.004, position: 3, changed: false) == 0.008)
        #expect(scheduler.pollInterval(after: 0.008, position: 3, changed: false) == 0.008)
        // A change brings a queued waiter back to 1 ms.
        #expect(scheduler.pollInterval(after: 0.008, position: 3, changed: true) == 0.001)
    }
}
