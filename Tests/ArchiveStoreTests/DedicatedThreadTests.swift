import DurableFiles
import Foundation
import Testing
@testable import ArchiveStore

struct DedicatedThreadTests {
    /// Dictionary training runs this way: at a lower priority, while the thread that
    /// started it keeps its own.
    @Test func aThreadStartedWithNicenessRunsAtItAlone() async throws {
        let process = __priority_which_t(PRIO_PROCESS.rawValue)
        let mine = getpriority(process, 0)
        let theirs = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            DedicatedThread.start(name: "nice-test", niceness: 10) {
                continuation.resume(returning: getpriority(process, 0))
            }
        }
        #expect(theirs == min(19, mine + 10))
        #expect(getpriority(process, 0) == mine)
    }
}
