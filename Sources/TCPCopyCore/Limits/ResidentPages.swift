/// The resident set in pages, from the text of /proc/PID/statm: decimal page counts separated
/// by spaces ("size resident shared text lib data dt"), of which it is the second. Read by hand,
/// with no allocation: tcpcopy reads it every 128 new sessions (`MemoryBudget`).
public enum ResidentPages {
    /// The second field, or nil if the text does not start with two decimal fields.
    public static func parse(statm bytes: UnsafeRawBufferPointer) -> Int? {
        var field = 0
        var value = 0
        var digits = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                guard digits <= 18 else { return nil }  // no overflow: no process has 10^18 pages
                if field == 1 { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
            case UInt8(ascii: " ") where digits > 0:
                if field == 1 { return value }
                field += 1
                digits = 0
            case UInt8(ascii: "\n") where field == 1 && digits > 0:
                return value
            default:
                return nil
            }
        }
        return field == 1 && digits > 0 ? value : nil
    }
}
