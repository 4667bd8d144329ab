/// The text of a progress line: name, bytes, percentage, rate, ETA — what a terminal shows.
public struct TransferProgressLine: Sendable {
    public var name: String
    public var bytesDone: UInt64
    /// Nil when the size is not known in advance.
    public var bytesTotal: UInt64?
    /// Seconds since the transfer began.
    public var elapsed: Double

    public init(name: String, bytesDone: UInt64, bytesTotal: UInt64?, elapsed: Double) {
        self.name = name
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.elapsed = elapsed
    }

    public var rate: Double { self.elapsed > 0 ? Double(self.bytesDone) / self.elapsed : 0 }

    /// Fits `width` columns: the name is shortened first.
    public func render(width: Int) -> String {
        var fields: [String] = []
        if let total = self.bytesTotal {
            let percent = total == 0 ? 100 : Int(Double(self.bytesDone) * 100 / Double(total))
            fields.append("\(min(percent, 100))%".leftPadded(to: 4))
            fields.append("\(Self.bytes(self.bytesDone)) / \(Self.bytes(total))".leftPadded(to: 21))
        } else {
            fields.append(Self.bytes(self.bytesDone).leftPadded(to: 10))
        }
        fields.append("\(Self.bytes(UInt64(self.rate)))/s".leftPadded(to: 12))
        if let total = self.bytesTotal, self.rate > 0, self.bytesDone < total {
            fields.append("ETA " + Self.duration(Double(total - self.bytesDone) / self.rate))
        } else {
            fields.append("    " + Self.duration(self.elapsed))
        }
        let tail = fields.joined(separator: "  ")
        let room = max(8, width - tail.count - 2)
        return Self.shorten(self.name, to: room).rightPadded(to: room) + "  " + tail
    }

    /// 1023 B, 1.0 KiB, 12.3 MiB, 4.20 GiB.
    public static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let digits = value < 10 ? 2 : (value < 100 ? 1 : 0)
        return Self.fixed(value, digits: digits) + " " + units[unit]
    }

    /// m:ss, or h:mm:ss from an hour.
    public static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.isFinite ? max(0, seconds.rounded()) : 0)
        let (hours, minutes, secs) = (total / 3600, (total % 3600) / 60, total % 60)
        let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(minutes):\(two(secs))"
    }

    static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        guard digits > 0 else { return String(scaled) }
        let whole = scaled / Int(scale)
        let fraction = String(scaled % Int(scale))
        return "\(whole)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    static func shorten(_ text: String, to width: Int) -> String {
        guard text.count > width else { return text }
        return "…" + text.suffix(width - 1)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: " ", count: width - self.count) + self
    }

    fileprivate func rightPadded(to width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
