import Testing

@testable import TCPCopyCore

@Suite struct SessionAdmissionTests {
    private let mib = 1 << 20

    @Test func synthesizedSessionsGetHalfTheTable() {
        var admission = SessionAdmission(maxSessions: 10, memoryCapBytes: 64 * mib)
        #expect(admission.decide(.synthesized, wanted: 1, liveSessions: 4) == .admitted)
        #expect(admission.decide(.synthesized, wanted: 1, liveSessions: 5) == .tableFull)
        #expect(admission.decide(.clientSYN, wanted: 1, liveSessions: 9) == .admitted)
        #expect(admission.decide(.clientSYN, wanted: 1, liveSessions: 10) == .tableFull)
        #expect(admission.decide(.reopened, wanted: 1, liveSessions: 9) == .admitted)
        #expect(admission.decide(.reopened, wanted: 1, liveSessions: 10) == .tableFull)
        // Copies count one session each.
        #expect(admission.decide(.clientSYN, wanted: 3, liveSessions: 8) == .tableFull)
    }

    @Test func synthesizedSessionsGetHalfTheMemory() {
        var admission = SessionAdmission(maxSessions: 65536, memoryCapBytes: 64 * mib)
        _ = admission.read(resident: 33 * mib, liveSessions: 100)
        #expect(admission.memoryPressed)
        #expect(admission.decide(.synthesized, wanted: 1, liveSessions: 100) == .memoryFull)
        #expect(admission.decide(.clientSYN, wanted: 1, liveSessions: 100) == .admitted)
        #expect(admission.decide(.reopened, wanted: 1, liveSessions: 100) == .admitted)
        _ = admission.read(resident: 31 * mib, liveSessions: 100)
        #expect(!admission.memoryPressed)
        #expect(admission.decide(.synthesized, wanted: 1, liveSessions: 100) == .admitted)
    }

    @Test func overTheCapTheSessionLimitHoldsForEveryOrigin() {
        var admission = SessionAdmission(maxSessions: 65536, memoryCapBytes: 64 * mib)
        #expect(admission.read(resident: 65 * mib, liveSessions: 600) == .capReached(limit: 600))
        for origin: SessionAdmission.Origin in [.clientSYN, .synthesized, .reopened] {
            #expect(admission.decide(origin, wanted: 1, liveSessions: 600) == .memoryFull)
        }
        #expect(admission.decide(.clientSYN, wanted: 1, liveSessions: 599) == .admitted)
        #expect(admission.decide(.reopened, wanted: 1, liveSessions: 599) == .admitted)
        // Over the cap a synthesized session is refused whatever the table holds.
        #expect(admission.decide(.synthesized, wanted: 1, liveSessions: 10) == .memoryFull)
    }

    @Test func manyNewSessionsAskForAReading() {
        var admission = SessionAdmission(maxSessions: 65536, memoryCapBytes: 64 * mib)
        for live in 0..<(SessionAdmission.sessionsPerReading - 1) {
            #expect(admission.decide(.clientSYN, wanted: 1, liveSessions: live) == .admitted)
        }
        #expect(!admission.wantsMemoryReading)
        _ = admission.decide(.synthesized, wanted: 1, liveSessions: 200)
        #expect(admission.wantsMemoryReading)
        _ = admission.read(resident: 10 * mib, liveSessions: 200)
        #expect(!admission.wantsMemoryReading)
        // Refusals do not count: they take no memory.
        for _ in 0..<1000 { _ = admission.decide(.clientSYN, wanted: 1, liveSessions: 65536) }
        #expect(!admission.wantsMemoryReading)
    }
}

@Suite struct BufferBudgetTests {
    @Test func isAQuarterOfTheMemoryCap() {
        #expect(BufferBudget(memoryLimitMB: 128).capacityBytes == 32 << 20)
    }

    @Test func addsUpWhatEachSlotHolds() {
        var budget = BufferBudget(capacityBytes: 1000)
        budget.update(3, holds: 400)
        budget.update(0, holds: 100)
        budget.update(3, holds: 300)
        #expect(budget.totalBytes == 400)
        #expect(budget.held(by: 3) == 300)
        budget.update(3, holds: 0)
        #expect(budget.totalBytes == 100)
        budget.update(9, holds: 0)
        #expect(budget.totalBytes == 100)
        #expect(budget.held(by: 9) == 0)
    }

    @Test func overTheBudgetOnlyTheBigHoldersAreShed() {
        var budget = BufferBudget(capacityBytes: 1000)
        budget.update(0, holds: 700)
        budget.update(1, holds: 200)
        #expect(!budget.sheds(0, liveSessions: 2))  // within the budget
        budget.update(2, holds: 150)
        #expect(budget.totalBytes == 1050)
        // An even share among 3 is 333 bytes.
        #expect(budget.sheds(0, liveSessions: 3))
        #expect(!budget.sheds(1, liveSessions: 3))
        #expect(!budget.sheds(2, liveSessions: 3))
    }
}
