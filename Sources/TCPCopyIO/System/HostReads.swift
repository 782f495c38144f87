import Glibc
import TCPCopyCore

/// Reads `fd` until end of file or until `limit` bytes are in, retrying EINTR. A failed read
/// ends the reading like end of file: the callers read /proc files and a child's pipe, where
/// what arrived is all there is to have.
func readToEnd(_ fd: Int32, limit: Int, chunkSize: Int = 4096) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    while bytes.count < limit {
        let n = (try? systemCall("read") { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }) ?? 0
        guard n > 0 else { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// Reads a /proc file of a few KB (its size is reported as 0, so read until end of file).
func readSmallFile(_ path: String) -> String? {
    guard let fd = try? systemCall("open(\(path))", { open(path, O_RDONLY | O_CLOEXEC) }) else { return nil }
    defer { closeDescriptor(fd) }
    return String(decoding: readToEnd(fd, limit: 1 << 20), as: UTF8.self)
}

/// An IPv4 address of one of this host's interfaces, and its netmask when it has one.
struct InterfaceAddress {
    var address: IPv4Address
    var netmask: UInt32?
}

/// The IPv4 addresses of this host's interfaces (getifaddrs), empty if they cannot be read.
func interfaceAddresses() -> [InterfaceAddress] {
    var list: UnsafeMutablePointer<ifaddrs>? = nil
    guard (try? systemCall("getifaddrs", { getifaddrs(&list) })) != nil, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var addresses: [InterfaceAddress] = []
    var cursor: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = cursor {
        defer { cursor = entry.pointee.ifa_next }
        guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
            continue
        }
        let host = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
            UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
        }
        let mask = entry.pointee.ifa_netmask.map {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
        }
        addresses.append(InterfaceAddress(address: IPv4Address(host), netmask: mask))
    }
    return addresses
}

/// The IPv4 networks of this host's interfaces (address and netmask of each), for intercept's
/// default control-port policy.
func interfaceNetworks() -> [IPv4Network] {
    interfaceAddresses().compactMap { entry in
        entry.netmask.map { IPv4Network(address: entry.address, prefixLength: $0.nonzeroBitCount) }
    }
}
