/// How bad one doctor finding is. A `fault` breaks copying (doctor exits non-zero); a
/// `warning` may cost copies or safety depending on the deployment; `ok` and `info` say what
/// was checked and found in order.
public enum DoctorSeverity: Int, Comparable, Sendable, CaseIterable {
    case ok, info, warning, fault

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The column doctor prints.
    public var label: String {
        switch self {
        case .ok: "ok"
        case .info: "info"
        case .warning: "WARNING"
        case .fault: "FAULT"
        }
    }
}

/// One thing doctor checked: what it found and, when something is wrong, what to do about it.
public struct DoctorFinding: Hashable, Sendable, CustomStringConvertible {
    public var severity: DoctorSeverity
    /// The check, short and stable (`rule`, `queue`, `rp_filter`, ...), for people and tests.
    public var check: String
    /// What was found, as a sentence.
    public var summary: String
    /// What to do; nil when nothing needs doing.
    public var remedy: String?

    public init(_ severity: DoctorSeverity, _ check: String, _ summary: String, remedy: String? = nil) {
        self.severity = severity
        self.check = check
        self.summary = summary
        self.remedy = remedy
    }

    public var description: String {
        "\(severity.label) \(check): \(summary)" + (remedy.map { " fix: \($0)" } ?? "")
    }
}

/// Every finding of one doctor run, rendered for a terminal, with the exit status that goes
/// with them.
public struct DoctorReport: Sendable {
    public var program: String
    public var findings: [DoctorFinding]

    public init(program: String, findings: [DoctorFinding]) {
        self.program = program
        self.findings = findings
    }

    public var faults: [DoctorFinding] { findings.filter { $0.severity == .fault } }
    public var warnings: [DoctorFinding] { findings.filter { $0.severity == .warning } }

    /// 1 when anything is a fault, 0 otherwise (warnings included: they depend on the setup).
    public var exitStatus: Int32 { faults.isEmpty ? 0 : 1 }

    /// One block per finding: the severity and check, the summary, then the fix indented.
    public var text: String {
        var lines: [String] = []
        for finding in findings {
            let head = finding.severity.label.padding(to: 8) + finding.check.padding(to: 14)
            lines.append(head + finding.summary)
            if let remedy = finding.remedy {
                lines.append(String(repeating: " ", count: 22) + "fix: " + remedy)
            }
        }
        let verdict: String
        switch (faults.count, warnings.count) {
        case (0, 0): verdict = "no problem found"
        case (let f, let w):
            verdict = "\(f) fault\(f == 1 ? "" : "s"), \(w) warning\(w == 1 ? "" : "s")"
        }
        lines.append("\(program) doctor: \(verdict)")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
