import Testing
@testable import TCPCopyCore
@Test func placeholder() { #expect(1 == 1) }
