/// `tcpcopy report`: the compare log as one self-contained HTML page (inline CSS, inline SVG,
/// no script, nothing fetched), with the outcomes by request and both sides' latency
/// distributions drawn over each other.
public struct CompareReport {
    /// Mismatches listed one by one, at most.
    public static let listedMismatchLimit = 100

    public var records: [CompareLogRecord]
    /// Log lines that were not records, counted and named in the page.
    public var skippedLines: Int
    public var title: String

    public init(records: [CompareLogRecord], skippedLines: Int = 0, title: String = "tcpcopy compare report") {
        self.records = records
        self.skippedLines = skippedLines
        self.title = title
    }

    /// Reads a log's text: each line a record; blank lines ignored, bad ones counted.
    public static func parse(log: String, title: String = "tcpcopy compare report") -> (
        report: CompareReport, errors: [(line: Int, error: CompareLogError)]
    ) {
        var records: [CompareLogRecord] = []
        var errors: [(line: Int, error: CompareLogError)] = []
        for (index, line) in log.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { $0 != " " && $0 != "\r" && $0 != "\t" }) else { continue }
            do throws(CompareLogError) {
                records.append(try CompareLogCodec.decode(String(line)))
            } catch {
                errors.append((index + 1, error))
            }
        }
        return (CompareReport(records: records, skippedLines: errors.count, title: title), errors)
    }

    /// One key's row of the page's table, with exact percentiles.
    struct Row {
        var key: String
        var outcomes = [Int](repeating: 0, count: CompareOutcome.allCases.count)
        var online: [UInt64] = []
        var target: [UInt64] = []
        var exchanges: Int { outcomes.reduce(0, +) }
    }

    func rows() -> (rows: [Row], total: Row) {
        var rows: [Row] = []
        var index: [String: Int] = [:]
        var total = Row(key: "all")
        for record in records {
            let key = record.exchange.key
            let at =
                index[key]
                ?? {
                    rows.append(Row(key: key))
                    index[key] = rows.count - 1
                    return rows.count - 1
                }()
            let outcome = CompareOutcome.allCases.firstIndex(of: record.outcome)!
            rows[at].outcomes[outcome] += 1
            total.outcomes[outcome] += 1
            if let latency = record.exchange.online.latencyMicroseconds {
                rows[at].online.append(latency)
                total.online.append(latency)
            }
            if let latency = record.exchange.target.latencyMicroseconds {
                rows[at].target.append(latency)
                total.target.append(latency)
            }
        }
        return (rows.sorted { ($0.exchanges, $1.key) > ($1.exchanges, $0.key) }, total)
    }

    /// The page.
    public func html() -> String {
        let (rows, total) = rows()
        let online = total.online.sorted()
        let target = total.target.sorted()
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(Self.escape(title))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1150px}
            h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
            table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
            th{background:#f2f2f2}td.key,th.key{text-align:left;font-family:monospace}
            tr.total td{font-weight:bold;background:#fafafa}.bad{background:#fde2e1}.ok{background:#e3f4e1}
            .note{color:#666}.legend span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px}
            svg text{font:12px system-ui,sans-serif;fill:#333}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p class="note">\(records.count) exchanges from the log\(skippedNote). \
            An exchange counts under the first outcome that applies: target reset, target silent, \
            first line differs, length differs, bytes differ, same.</p>

            """
        page += outcomeTable(rows: rows, total: total)
        page += "<h2>Latency, request to first answer byte</h2>\n"
        page += """
            <p class="legend"><span style="background:\(Self.onlineColour)"></span>online (production) \
            n=\(online.count), p50 \(Self.ms(Self.percentile(online, 0.5))) ms, p99 \(Self.ms(Self.percentile(online, 0.99))) ms\
            <span style="background:\(Self.targetColour)"></span>target n=\(target.count), \
            p50 \(Self.ms(Self.percentile(target, 0.5))) ms, p99 \(Self.ms(Self.percentile(target, 0.99))) ms</p>

            """
        if online.isEmpty && target.isEmpty {
            page += "<p class=\"note\">No latencies in the log.</p>\n"
        } else {
            let axis = LogAxis(values: online + target)
            page += cdfChart(online: online, target: target, axis: axis)
            page += histogramChart(online: online, target: target, axis: axis)
        }
        page += mismatchList()
        return page + "</body></html>\n"
    }

    private var skippedNote: String {
        switch skippedLines {
        case 0: ""
        case 1: "; 1 line was not a record and was skipped"
        default: "; \(skippedLines) lines were not records and were skipped"
        }
    }

    private func outcomeTable(rows: [Row], total: Row) -> String {
        var html = """
            <h2>Outcomes by request</h2>
            <table id="outcomes"><tr><th class="key">request</th><th>exchanges</th><th>same</th>\
            <th>target reset</th><th>target silent</th><th>first line differs</th><th>length differs</th>\
            <th>bytes differ</th><th>online p50 / p99 ms</th><th>target p50 / p99 ms</th></tr>

            """
        func line(_ row: Row, cssClass: String) -> String {
            let sorted = (row.online.sorted(), row.target.sorted())
            var cells = "<td class=\"key\">\(Self.escape(row.key))</td><td>\(row.exchanges)</td>"
            for outcome in [
                CompareOutcome.same, .targetReset, .targetSilent, .firstLineDiffers, .lengthDiffers, .bytesDiffer,
            ] {
                let count = row.outcomes[CompareOutcome.allCases.firstIndex(of: outcome)!]
                let mark = count == 0 ? "" : outcome == .same ? " class=\"ok\"" : " class=\"bad\""
                cells += "<td\(mark)>\(count)</td>"
            }
            for side in [sorted.0, sorted.1] {
                cells += "<td>\(Self.ms(Self.percentile(side, 0.5))) / \(Self.ms(Self.percentile(side, 0.99)))</td>"
            }
            return "<tr class=\"\(cssClass)\">\(cells)</tr>\n"
        }
        for row in rows { html += line(row, cssClass: "key-row") }
        return html + line(total, cssClass: "total") + "</table>\n"
    }

    private func mismatchList() -> String {
        // The worst first (the outcomes' order), each outcome in the log's order.
        let mismatches = records.enumerated().filter { $0.element.outcome != .same }
            .sorted { ($0.element.outcome, $0.offset) < ($1.element.outcome, $1.offset) }.map(\.element)
        guard !mismatches.isEmpty else { return "<h2>Mismatches</h2><p class=\"note\">None.</p>\n" }
        var html = """
            <h2>Mismatches (\(mismatches.count)\(mismatches.count > Self.listedMismatchLimit ? ", the first \(Self.listedMismatchLimit) listed" : ""))</h2>
            <table id="mismatches"><tr><th class="key">session #</th><th class="key">request</th><th class="key">outcome</th>\
            <th class="key">online answer</th><th class="key">target answer</th><th>lengths</th><th>latencies ms</th></tr>

            """
        for record in mismatches.prefix(Self.listedMismatchLimit) {
            let exchange = record.exchange
            func answer(_ facts: AnswerFacts) -> String {
                facts.ending == .answered ? Self.escape(facts.firstLine ?? "(binary)") : "(\(facts.ending.rawValue))"
            }
            func latency(_ facts: AnswerFacts) -> String {
                facts.latencyMicroseconds.map { Self.ms(Double($0)) } ?? "-"
            }
            let outcome = record.outcome.rawValue.replacingPrefix("compare_", with: "")
            html +=
                "<tr class=\"mismatch\"><td class=\"key\">\(Self.escape(exchange.session)) #\(exchange.number)</td>"
                + "<td class=\"key\">\(Self.escape(exchange.requestFirstLine ?? "port \(exchange.port)"))</td>"
                + "<td class=\"key\">\(outcome)</td><td class=\"key\">\(answer(exchange.online))</td>"
                + "<td class=\"key\">\(answer(exchange.target))</td>"
                + "<td>\(exchange.online.length) / \(exchange.target.length)</td>"
                + "<td>\(latency(exchange.online)) / \(latency(exchange.target))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    // MARK: charts

    static let onlineColour = "#1f77b4"
    static let targetColour = "#e8731a"
    static let chartWidth = 1000.0
    static let chartHeight = 340.0
    static let left = 70.0, right = 20.0, top = 20.0, bottom = 50.0
    static var plotWidth: Double { chartWidth - left - right }
    static var plotHeight: Double { chartHeight - top - bottom }

    /// Distributions drawn as cumulative fractions: a step line per side.
    private func cdfChart(online: [UInt64], target: [UInt64], axis: LogAxis) -> String {
        var svg = chartOpen(id: "latency-cdf", title: "Cumulative share of exchanges by latency")
        svg += axes(axis: axis, yLabel: "exchanges at or below (%)", yMaximum: 100)
        for (name, values, colour) in [("online", online, Self.onlineColour), ("target", target, Self.targetColour)]
        where !values.isEmpty {
            var points: [String] = [point(x: axis.position(values[0]), fraction: 0)]
            // At most about 400 steps a side: every k-th value, and always the last.
            let stride = max(1, values.count / 400)
            var index = 0
            while index < values.count {
                let last = min(values.count - 1, index + stride - 1)
                let x = axis.position(values[last])
                points.append(point(x: x, fraction: Double(index) / Double(values.count)))
                points.append(point(x: x, fraction: Double(last + 1) / Double(values.count)))
                index = last + 1
            }
            svg +=
                "<polyline class=\"series-\(name)\" data-series=\"\(name)\" fill=\"none\" stroke=\"\(colour)\" "
                + "stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
        return svg + "</svg>\n"
    }

    /// Distributions drawn as overlaid histograms, 10 bins a decade, as shares of each side.
    private func histogramChart(online: [UInt64], target: [UInt64], axis: LogAxis) -> String {
        let binsPerDecade = 10
        let bins = max(1, axis.decades * binsPerDecade)
        func shares(_ values: [UInt64]) -> [Double] {
            var counts = [Double](repeating: 0, count: bins)
            for value in values { counts[min(bins - 1, Int(axis.position(value) * Double(bins)))] += 1 }
            return counts.map { values.isEmpty ? 0 : $0 / Double(values.count) }
        }
        let series = [("online", shares(online), Self.onlineColour), ("target", shares(target), Self.targetColour)]
        let highest = series.flatMap { $0.1 }.max() ?? 1
        let yMaximum = max(5, (highest * 100 / 5).rounded(.up) * 5)
        var svg = chartOpen(id: "latency-histogram", title: "Share of exchanges by latency")
        svg += axes(axis: axis, yLabel: "exchanges (%)", yMaximum: yMaximum)
        let width = Self.plotWidth / Double(bins)
        for (name, values, colour) in series {
            svg += "<g class=\"series-\(name)\" data-series=\"\(name)\" fill=\"\(colour)\" fill-opacity=\"0.55\">"
            for (bin, share) in values.enumerated() where share > 0 {
                let height = share * 100 / yMaximum * Self.plotHeight
                svg +=
                    "<rect x=\"\(Self.number(Self.left + Double(bin) * width))\" "
                    + "y=\"\(Self.number(Self.top + Self.plotHeight - height))\" width=\"\(Self.number(width - 1))\" "
                    + "height=\"\(Self.number(height))\"/>"
            }
            svg += "</g>\n"
        }
        return svg + "</svg>\n"
    }

    private func chartOpen(id: String, title: String) -> String {
        "<h3>\(Self.escape(title))</h3>\n<svg id=\"\(id)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Self.chartWidth))\" "
            + "height=\"\(Int(Self.chartHeight))\" viewBox=\"0 0 \(Int(Self.chartWidth)) \(Int(Self.chartHeight))\">\n"
    }

    private func axes(axis: LogAxis, yLabel: String, yMaximum: Double) -> String {
        let x0 = Self.left, y0 = Self.top + Self.plotHeight
        var svg = "<g stroke=\"#999\" stroke-width=\"1\">"
        // Horizontal grid every fifth of the height.
        for step in 0...5 {
            let y = Self.number(Self.top + Self.plotHeight * Double(5 - step) / 5)
            svg +=
                "<line x1=\"\(Self.number(x0))\" y1=\"\(y)\" x2=\"\(Self.number(x0 + Self.plotWidth))\" y2=\"\(y)\" "
                + "stroke=\"#e4e4e4\"/>"
        }
        for decade in 0...axis.decades {
            let x = Self.number(x0 + Self.plotWidth * Double(decade) / Double(axis.decades))
            svg +=
                "<line x1=\"\(x)\" y1=\"\(Self.number(Self.top))\" x2=\"\(x)\" y2=\"\(Self.number(y0))\" stroke=\"#e4e4e4\"/>"
        }
        svg +=
            "<line x1=\"\(Self.number(x0))\" y1=\"\(Self.number(y0))\" x2=\"\(Self.number(x0 + Self.plotWidth))\" "
            + "y2=\"\(Self.number(y0))\"/><line x1=\"\(Self.number(x0))\" y1=\"\(Self.number(Self.top))\" "
            + "x2=\"\(Self.number(x0))\" y2=\"\(Self.number(y0))\"/></g>\n"
        for decade in 0...axis.decades {
            let x = Self.number(x0 + Self.plotWidth * Double(decade) / Double(axis.decades))
            svg +=
                "<text x=\"\(x)\" y=\"\(Self.number(y0 + 18))\" text-anchor=\"middle\">"
                + "\(axis.label(decade: decade))</text>"
        }
        for step in 0...5 {
            let y = Self.number(Self.top + Self.plotHeight * Double(5 - step) / 5 + 4)
            svg +=
                "<text x=\"\(Self.number(x0 - 8))\" y=\"\(y)\" text-anchor=\"end\">"
                + "\(Decimal3.text(yMaximum * Double(step) / 5, places: 0))</text>"
        }
        svg +=
            "\n<text x=\"\(Self.number(x0 + Self.plotWidth / 2))\" y=\"\(Self.number(Self.chartHeight - 8))\" "
            + "text-anchor=\"middle\">latency, request to first answer byte (ms, log scale)</text>"
        svg +=
            "<text transform=\"translate(18 \(Self.number(Self.top + Self.plotHeight / 2))) rotate(-90)\" "
            + "text-anchor=\"middle\">\(Self.escape(yLabel))</text>\n"
        return svg
    }

    private func point(x: Double, fraction: Double) -> String {
        "\(Self.number(Self.left + x * Self.plotWidth)),\(Self.number(Self.top + (1 - fraction) * Self.plotHeight))"
    }

    // MARK: text

    /// Nearest-rank percentile of sorted microseconds.
    static func percentile(_ sorted: [UInt64], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = max(1, Int((fraction * Double(sorted.count)).rounded(.up)))
        return Double(sorted[min(sorted.count, rank) - 1])
    }

    static func ms(_ microseconds: Double?) -> String {
        microseconds.map(Decimal3.milliseconds) ?? "-"
    }

    static func number(_ value: Double) -> String { Decimal3.text(value, places: 1) }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// A logarithmic latency axis over whole decades of milliseconds.
struct LogAxis {
    /// log10 of the lowest decade's milliseconds.
    let lowestDecade: Int
    let decades: Int

    init(values: [UInt64]) {
        let milliseconds = values.map { max(Double($0), 1) / 1000 }
        let low = Int(Self.log10(milliseconds.min() ?? 1).rounded(.down))
        let high = Int(Self.log10(milliseconds.max() ?? 1).rounded(.up))
        lowestDecade = low
        decades = max(1, high - low)
    }

    /// Where `microseconds` falls, 0 (left) to 1 (right).
    func position(_ microseconds: UInt64) -> Double {
        let value = Self.log10(max(Double(microseconds), 1) / 1000)
        return min(1, max(0, (value - Double(lowestDecade)) / Double(decades)))
    }

    func label(decade: Int) -> String {
        let exponent = lowestDecade + decade
        if exponent >= 0 { return "1" + String(repeating: "0", count: exponent) }
        return "0." + String(repeating: "0", count: -exponent - 1) + "1"
    }

    /// log10 without libm: the binary exponent plus ln of the significand by its atanh series.
    static func log10(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 0 }
        let significand = value.significand  // [1, 2)
        let z = (significand - 1) / (significand + 1)
        var term = z
        var sum = 0.0
        var power = 1.0
        for _ in 0..<30 {
            sum += term / power
            term *= z * z
            power += 2
        }
        let log2 = Double(value.exponent) + 2 * sum / 0.693_147_180_559_945_3
        return log2 * 0.301_029_995_663_981_2
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
