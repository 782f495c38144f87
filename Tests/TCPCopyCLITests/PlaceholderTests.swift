import Testing
@testable import TCPCopyCLI
@Test func cliPlaceholder() { #expect(1 == 1) }
