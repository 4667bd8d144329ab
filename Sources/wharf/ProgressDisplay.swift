#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import WharfClient

/// A progress line on the terminal (stderr), redrawn at most ten times a second. Silent when
/// stderr is not a terminal or with -q: scripts see nothing but errors.
final class ProgressDisplay: Sendable {
    private struct State {
        var name = ""
        var done: UInt64 = 0
        var total: UInt64? = nil
        var started = ContinuousClock.now
        var lastDrawn: ContinuousClock.Instant? = nil
        var active = false
    }

    let enabled: Bool
    private let state = Mutex(State())

    init(quiet: Bool) {
        self.enabled = !quiet && isatty(2) == 1
    }

    /// Starts a line for one transfer (or one overall line for a tree).
    func start(name: String, total: UInt64?) {
        guard self.enabled else { return }
        self.state.withLock { state in
            state = State(name: name, done: 0, total: total, started: .now, lastDrawn: nil, active: true)
        }
    }

    func update(done: UInt64) {
        guard self.enabled else { return }
        let line: String? = self.state.withLock { state in
            guard state.active else { return nil }
            state.done = done
            let now = ContinuousClock.now
            if let last = state.lastDrawn, now - last < .milliseconds(100) { return nil }
            state.lastDrawn = now
            return Self.render(state)
        }
        if let line { Self.draw(line, final: false) }
    }

    /// For trees: the total grows as the walk finds files; the name shows files done of total.
    func update(done: UInt64, total: UInt64, files: (done: Int, total: Int)) {
        guard self.enabled else { return }
        let line: String? = self.state.withLock { state in
            guard state.active else { return nil }
            state.done = done
            state.total = total
            if let slash = state.name.firstIndex(of: "/") {
                state.name = String(state.name[...slash]) + " \(files.done)/\(files.total) files"
            }
            let now = ContinuousClock.now
            if let last = state.lastDrawn, now - last < .milliseconds(100) { return nil }
            state.lastDrawn = now
            return Self.render(state)
        }
        if let line { Self.draw(line, final: false) }
    }

    func finish() {
        guard self.enabled else { return }
        let line: String? = self.state.withLock { state in
            guard state.active else { return nil }
            state.active = false
            return Self.render(state)
        }
        if let line { Self.draw(line, final: true) }
    }

    private static func render(_ state: State) -> String {
        let elapsed = ContinuousClock.now - state.started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return TransferProgressLine(name: state.name, bytesDone: state.done, bytesTotal: state.total, elapsed: seconds)
            .render(width: Self.terminalWidth())
    }

    private static func draw(_ line: String, final: Bool) {
        // \r to the line start, the line, then erase whatever a longer earlier line left.
        let text = "\r" + line + "\u{1B}[K" + (final ? "\n" : "")
        FileHandle.standardError.write(Data(text.utf8))
    }

    private static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) - 1 }
        return 79
    }
}
