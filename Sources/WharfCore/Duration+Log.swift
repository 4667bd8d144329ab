extension Duration {
    /// Seconds with millisecond precision, as log lines show durations: "2.425s".
    public var logDescription: String {
        let (seconds, attoseconds) = self.components
        let milliseconds = attoseconds / 1_000_000_000_000_000
        let padded = String(milliseconds)
        return "\(seconds).\(String(repeating: "0", count: max(0, 3 - padded.count)))\(padded)s"
    }
}
