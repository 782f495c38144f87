/// Whole-configuration checks. The command lines already refuse bad values one by one; these
/// run again on the finished value so that a configuration built in code (a test, another
/// front end) meets the same rules, and they hold the checks that involve several fields.
extension TCPCopyConfiguration {
    /// Throws the first rule the configuration breaks.
    public func validate() throws(ConfigurationError) {
        if routes.isEmpty { throw .noRoutes }
        for route in routes {
            try checkPort(route.onlinePort)
            try checkPort(route.targetPort)
        }
        _ = try ConfigurationParser.deduplicatedRoutes(routes)
        try check(copies, .copies)
        try check(portShift, .portShift)
        try check(sessionRate, .sessionRate)
        try checkPort(interceptPort)
        try check(sessionTimeout, .sessionTimeout)
        if let keepAliveTimeout { try check(keepAliveTimeout, .sessionTimeout) }
        try check(mtu, .mtu)
        try check(synMSS, .synMSS)
        // An MSS counts only TCP payload: 20 bytes of IP and 20 of TCP header must fit too.
        if synMSS > mtu - 40 { throw .synMSSTooLarge(mss: synMSS, mtu: mtu) }
        try check(maxSessions, .maxSessions)
        try check(memoryLimitMB, .memoryLimit)
        try check(captureBufferMB, .captureBuffer)
        try check(statsInterval, .statsInterval)
        try check(batchWindowMicroseconds, .batchWindow)
        if let sendInterface, !ConfigurationParser.isInterfaceName(sendInterface) {
            throw .invalidInterfaceName(sendInterface)
        }
    }
}

extension InterceptConfiguration {
    /// Throws the first rule the configuration breaks.
    public func validate() throws(ConfigurationError) {
        try check(Int(queue), .queueNumber)
        try check(Int(queueMaxLength), .queueMaxLength)
        try checkPort(listenPort)
        try check(routeTimeout, .routeTimeout)
        try check(statsInterval, .statsInterval)
        try check(batchWindowMicroseconds, .batchWindow)
    }
}

private func check(_ value: Int, _ setting: NumericSetting) throws(ConfigurationError) {
    guard setting.range.contains(value) else { throw .outOfRange(String(value), setting: setting) }
}

private func checkPort(_ port: UInt16) throws(ConfigurationError) {
    try check(Int(port), .port)
}
